"""The security events accounts record (OWASP Logging Vocabulary names), and the reasons for which they
end sessions."""
from django.utils.translation import gettext_lazy as _

from authcore.audit import declare_event
from sessions_app.models import declare_revoke_reason

LOGIN_SUCCESS = declare_event("authn_login_success", "A user logged in: a new session was opened.")
LOGIN_FAIL = declare_event(
    "authn_login_fail", "A login was refused: unknown address, wrong password or inactive account (`user` is set "
    "when the address belongs to an account; details: `account`, a keyed hash of the submitted address).")
LOGIN_SECOND_FACTOR_FAIL = declare_event(
    "authn_login_mfa_fail", "The second step of a login was refused: a wrong code, recovery code or security "
    "key answer after the right password (counted as a failed login of the account).")
LOGIN_UNVERIFIED = declare_event(
    "authn_login_unverified", "The right password for an address not yet verified: the login was refused and "
    "the verification email sent again.")
LOGIN_LOCKED = declare_event(
    "authn_login_lock", "Repeated failures locked an account for new devices (accounts.login_throttle; "
    "details: `account`, `failures`, `lock_seconds`).")
PASSWORD_CHANGED = declare_event(
    "authn_password_change", "A password was replaced other than by a reset: changed by its owner, or set by an "
    "operator or a command (details: `how`, `sessions_ended`).")
PASSWORD_CHANGE_FAIL = declare_event(
    "authn_password_change_fail", "A password change was refused: the current password given was wrong.")
PASSWORD_RESET_REQUESTED = declare_event(
    "authn_password_reset_request", "A password reset email was asked for (for an unknown address: no `user`, "
    "details: `known_account` false).")
PASSWORD_RESET = declare_event(
    "authn_password_reset", "A password was reset with an emailed link (details: `how`, `sessions_ended`).")
USER_REGISTERED = declare_event("user_created", "A new account was registered.")
EMAIL_VERIFIED = declare_event(
    "user_email_verified", "An address was verified, by its link or by a password reset (details: `via`).")
USER_DEACTIVATED = declare_event(
    "user_deactivated", "An operator deactivated an account; its sessions ended (details: `sessions_ended`).")
SIGN_IN_REPORTED = declare_event(
    "authn_login_reported_not_me", "The owner followed the \"this wasn't me\" link of a sign-in alert "
    "(accounts.flows.not_me): that session and the others its device opened ended, and the device is "
    "distrusted (details: `device`, `session_ip_address`, `also_ended`, `devices_distrusted`).")
EMAIL_CHANGE_REQUESTED = declare_event(
    "user_email_change_request", "A change of address was asked for: a confirmation link went to the new address.")
EMAIL_CHANGE_FAIL = declare_event(
    "user_email_change_fail", "A change of address was refused: the current password given was wrong.")
EMAIL_CHANGED = declare_event(
    "user_email_changed", "An account's address changed (details: `previous_address_told`, whether the "
    "previous address was sent a notice).")
PRIVILEGES_CHANGED = declare_event(
    "authz_change", "Staff or superuser status, groups or permissions were granted or removed (details: the "
    "changed ones, each with what it was and what it is).")
PROFILE_UPDATED = declare_event(
    "user_updated", "Profile fields changed (details: `fields`, their names; never their values).")
ACCOUNT_DELETE_FAIL = declare_event(
    "user_delete_fail", "An account deletion was refused: the current password given was wrong.")
ACCOUNT_DELETED = declare_event(
    "user_deleted", "An account was deleted (no `user` any more; details: `former_user_id`, `sessions_ended`).")
DATA_EXPORTED = declare_event(
    "user_data_exported", "A user downloaded what the service holds about them (details: `sessions`, "
    "`security_events`, how many of each).")
REAUTH_FAIL = declare_event(
    "authn_reauth_fail", "A wrong password when a signed-in user confirms who they are: the account pages' "
    "\"confirm your password\" page, or `POST reauthenticate/` (accounts.flows.reauthentication).")
REAUTH_LOCKED = declare_event(
    "authn_reauth_lock", "Too many wrong passwords typed inside sessions: the session that guessed was ended "
    "and the owner told (accounts.flows.reauthentication; details: `failures`).")

# Why accounts end sessions.
PASSWORD_CHANGED_REASON = declare_revoke_reason("password_changed", _("Password changed"))
PASSWORD_RESET_REASON = declare_revoke_reason("password_reset", _("Password reset"))
NOT_ME_REASON = declare_revoke_reason("not_me", _("Sign-in reported by the user as not theirs"))
ACCOUNT_DELETED_REASON = declare_revoke_reason("account_deleted", _("Account deleted"))
REAUTH_FAILED_REASON = declare_revoke_reason("reauth_failed", _("Too many wrong passwords in the session"))
