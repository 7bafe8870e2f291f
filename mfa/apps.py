from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from authcore.installation import require_extra


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = _("Second factors")
    default_auto_field = "django.db.models.BigAutoField"

    # What the mfa app imports beyond the package's own dependencies: its extra.
    EXTRA_MODULES = ("pyotp", "segno", "cryptography", "webauthn")

    def __init__(self, app_name, app_module):
        super().__init__(app_name, app_module)
        require_extra(self.name, self.EXTRA_MODULES, extra=self.name)

    def ready(self) -> None:
        from accounts import second_factor

        from . import checks, emails, errors, events, limits  # noqa: F401  (checks; codes, events, emails declared)
        from .flows import MfaSecondFactor

        # From now on a login or a reauthentication of a user with a factor asks for it (accounts.second_factor).
        second_factor.register(MfaSecondFactor())
