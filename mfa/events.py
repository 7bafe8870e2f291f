"""The security events of second factors. None ever carries a secret or a code."""
from authcore.audit import declare_event

FACTOR_ADDED = declare_event(
    "mfa_factor_added", "A user added a second factor (details: `factor`, e.g. `totp`; `via`: `password_reset` for a "
    "passkey added with a reset link).")
FACTOR_CONFIRM_FAIL = declare_event(
    "mfa_factor_confirm_fail", "Adding an authenticator app was refused: the code given to confirm it was wrong.")
FACTOR_RENAMED = declare_event(
    "mfa_factor_renamed", "A user renamed a security key or passkey (details: `authenticator`, `previous_name`, "
    "`name`).")
FACTOR_REMOVED = declare_event(
    "mfa_factor_removed", "A user removed a second factor (details: `factor`; `all` when MFA was turned off).")
RECOVERY_CODES_REGENERATED = declare_event(
    "mfa_recovery_codes_regenerated", "A user made new recovery codes; the earlier ones stopped working.")
RECOVERY_CODE_USED = declare_event(
    "mfa_recovery_code_used", "A recovery code was used to sign in or to confirm who the user is (details: `left`).")
MFA_RESET = declare_event(
    "mfa_reset", "An operator removed every second factor of a user (`actor` is the operator).")
WEBAUTHN_CLONE = declare_event(
    "mfa_webauthn_clone", "A security key answered with a signature counter that did not move forward: a copy of "
    "the key may be in use; the answer was refused (details: `authenticator`, `stored_count`, `reported_count`).")
PASSKEY_LOGIN_FAIL = declare_event(
    "authn_passkey_fail", "A sign-in with a passkey was refused (details: `reason`).")
RECOVERY_FAIL = declare_event(
    "mfa_passkey_recovery_fail", "A reset link that adds a passkey to an account without a password was refused: the "
    "code of the account's second factor given with it was wrong.")
