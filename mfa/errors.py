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
    "webauthn_invalid": ErrorSpec(
        400, _("The security key's answer could not be accepted. Try again."),
        note="A WebAuthn answer that does not hold: malformed, for a challenge this service did not issue (or "
             "already used, or for another purpose or user), from another origin or relying party, with a bad "
             "signature, or a key that is not this account's."),
    "webauthn_cloned": ErrorSpec(
        400, _("This security key cannot be used: it looks like a copy. Use another factor."),
        note="The key's signature counter did not move forward: two copies of it are in use (audited as "
             "`mfa_webauthn_clone`)."),
    "passkey_unknown": ErrorSpec(
        400, _("This passkey is not known here. Sign in with your password."),
        note="A passkey sign-in whose credential no account has (removed, or from another site)."),
    "last_passkey": ErrorSpec(
        409, _("This is the last passkey of an account without a password. Add another passkey or set a password "
               "first."),
        note="Removing it (or turning MFA off) would leave the account nothing to sign in with."),
    "passkey_required": ErrorSpec(
        400, _("Add a passkey before you stop using a password."),
        note="Removing the password of an account that has no passkey to sign in with."),
    "password_not_set": ErrorSpec(400, _("This account has no password.")),
    "passkey_reset_unavailable": ErrorSpec(
        400, _("This account has a password: choose a new one."),
        note="A reset link adds a passkey only for an account that signs in with passkeys only."),
    "mfa_code_required": ErrorSpec(
        400, _("Give a code from your authenticator app or one of your recovery codes as well."),
        note="A reset link that adds a passkey to an account that still has second factors: the email alone never "
             "takes their place. `methods` lists what the account can answer with."),
})
