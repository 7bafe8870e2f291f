"""The rate-limit scopes of accounts (authcore.ratelimit). "account" is the submitted address in its
canonical form (accounts.addresses.email_identity), the user id, or the user part of an emailed token.

While the cache is unreachable, the scopes that guard passwords (login, change_password) and those that
send email (register, resend_verification, password_reset: mail bombing) fail closed; the token endpoints
fail open: their credential is an HMAC, so nothing can be guessed there."""
from authcore.ratelimit import declare_scope

# Attempts per IP; per account, login counts failures with its own policy (accounts.login_throttle), so
# nobody can lock a victim out by trying their address.
LOGIN = declare_scope("login", ip="30/m", fail_open=False).name
# Guessing the current password with a stolen access token; "account" is the user id.
CHANGE_PASSWORD = declare_scope("change_password", ip="30/m", account="5/m", fail_open=False).name
REGISTER = declare_scope("register", ip="10/m", account="5/h", fail_open=False).name
VERIFY_EMAIL = declare_scope("verify_email", ip="30/m", account="10/h", fail_open=True).name
RESEND_VERIFICATION = declare_scope("resend_verification", ip="10/m", account="5/h", fail_open=False).name
PASSWORD_RESET = declare_scope("password_reset", ip="10/m", account="5/h", fail_open=False).name
PASSWORD_RESET_CONFIRM = declare_scope("password_reset_confirm", ip="30/m", account="10/h", fail_open=True).name
