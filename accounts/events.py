"""The security events accounts record (OWASP Logging Vocabulary names), and the reasons for which they
end sessions."""
from sessions_app.models import declare_revoke_reason

LOGIN_SUCCESS = "authn_login_success"
LOGIN_FAIL = "authn_login_fail"
LOGIN_UNVERIFIED = "authn_login_unverified"  # the right password for an unverified address
LOGIN_LOCKED = "authn_login_lock"  # repeated failures locked an account (accounts.login_throttle)
PASSWORD_CHANGED = "authn_password_change"
PASSWORD_CHANGE_FAIL = "authn_password_change_fail"
PASSWORD_RESET_REQUESTED = "authn_password_reset_request"
PASSWORD_RESET = "authn_password_reset"
USER_REGISTERED = "user_created"
EMAIL_VERIFIED = "user_email_verified"
USER_DEACTIVATED = "user_deactivated"

# Why accounts end sessions.
PASSWORD_CHANGED_REASON = declare_revoke_reason("password_changed", "Password changed")
PASSWORD_RESET_REASON = declare_revoke_reason("password_reset", "Password reset")
