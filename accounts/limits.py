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
# The second step of a login (a code, a recovery code or a security key after the password): per IP, on top of
# the account's own lock, which counts each wrong answer as a failed login. Fails closed: it guards a factor.
LOGIN_SECOND_STEP = declare_scope("login_second_step", ip="30/m", fail_open=False).name
REGISTER = declare_scope("register", ip="10/m", account="5/h", fail_open=False).name
VERIFY_EMAIL = declare_scope("verify_email", ip="30/m", account="10/h", fail_open=True).name
RESEND_VERIFICATION = declare_scope("resend_verification", ip="10/m", account="5/h", fail_open=False).name
PASSWORD_RESET = declare_scope("password_reset", ip="10/m", account="5/h", fail_open=False).name
PASSWORD_RESET_CONFIRM = declare_scope("password_reset_confirm", ip="30/m", account="10/h", fail_open=True).name
# Self-service (accounts.flows.email_change, .deletion). Changing the address and deleting the account prove
# the current password, so they fail closed like change_password (and change_email sends email: mail
# bombing); "account" is the user id.
CHANGE_EMAIL = declare_scope("change_email", ip="10/m", account="5/h", fail_open=False).name
# Per address asked for ("account" is the address's identity): many accounts must not mail one mailbox.
CHANGE_EMAIL_TARGET = declare_scope("change_email_target", account="3/h", fail_open=False).name
CONFIRM_EMAIL_CHANGE = declare_scope("confirm_email_change", ip="30/m", account="10/h", fail_open=True).name
DELETE_ACCOUNT = declare_scope("delete_account", ip="30/m", account="5/m", fail_open=False).name
# An export reads a bounded amount but is the heaviest read a user can ask for.
EXPORT_DATA = declare_scope("export_data", ip="10/m", account="5/h", fail_open=True).name
# The "this wasn't me" link of a sign-in alert: signed, so nothing can be guessed there ("account" is
# the session the link names).
NOT_ME = declare_scope("not_me", ip="30/m", account="10/h", fail_open=True).name
# Every flow that proves the current password of a signed-in user (change password, change email, delete
# the account) also counts against this one budget per account: a stolen access token gets 5 guesses a
# minute in all, not 5 per flow.
PROVE_PASSWORD = declare_scope("prove_password", account="5/m", fail_open=False).name
