"""The error codes of second factors."""
from django.utils.translation import gettext_lazy as _

from authcore.errors import ErrorSpec, register_errors

register_errors({
    "totp_already_enabled": ErrorSpec(
        409, _("An authenticator app is already set up. Remove it before setting up another."),
        note="An account has at most one authenticator app."),
    "totp_not_started": ErrorSpec(
        400, _("Start setting up the authenticator app again."),
        note="A confirmation with no authenticator app waiting for one (never started, confirmed or replaced "
             "since)."),
    "mfa_not_enabled": ErrorSpec(400, _("This account has no second factor.")),
})
