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
# The owner followed the "this wasn't me" link of a sign-in alert (accounts.flows.not_me).
SIGN_IN_REPORTED = "authn_login_reported_not_me"
EMAIL_CHANGE_REQUESTED = "user_email_change_request"
EMAIL_CHANGE_FAIL = "user_email_change_fail"  # the current password was wrong
EMAIL_CHANGED = "user_email_changed"
PRIVILEGES_CHANGED = "authz_change"  # staff or superuser status granted or removed
PROFILE_UPDATED = "user_updated"  # the name changed
ACCOUNT_DELETE_FAIL = "user_delete_fail"  # the current password was wrong
ACCOUNT_DELETED = "user_deleted"
DATA_EXPORTED = "user_data_exported"  # the user downloaded what the service holds about them
# Too many wrong passwords typed inside sessions: the session that guessed was ended (accounts.reauthentication).
REAUTH_LOCKED = "authn_reauth_lock"

# Why accounts end sessions.
PASSWORD_CHANGED_REASON = declare_revoke_reason("password_changed", "Password changed")
PASSWORD_RESET_REASON = declare_revoke_reason("password_reset", "Password reset")
NOT_ME_REASON = declare_revoke_reason("not_me", "Sign-in reported by the user as not theirs")
ACCOUNT_DELETED_REASON = declare_revoke_reason("account_deleted", "Account deleted")
REAUTH_FAILED_REASON = declare_revoke_reason("reauth_failed", "Too many wrong passwords in the session")
