"""The error codes of accounts: what logging in, changing a password and the emailed links can fail
with, and the field codes of the password, address and name rules."""
from django.utils.translation import gettext_lazy as _

from authcore.errors import ErrorSpec, register_errors

register_errors(
    {
        "password_incorrect": ErrorSpec(400, _("The current password is incorrect.")),
        "invalid_token": ErrorSpec(400, _("This link is invalid or has expired.")),
        "invalid_credentials": ErrorSpec(401, _("Invalid email or password.")),
        "email_not_verified": ErrorSpec(403, _("Please verify your email address before logging in.")),
        "email_taken": ErrorSpec(
            409, _("This address now belongs to another account."),
            note="Confirming an address change when another account took the address after the request. (As a "
                 "field code of a 400 `invalid`: the address asked for already has an account.)"),
        "mfa_required": ErrorSpec(
            401, _("Enter a code from your second factor to finish signing in."),
            note="The right password for an account with a second factor: the answer carries `mfa_token` and "
                 "`methods`; POST /api/auth/login/mfa/ completes the login."),
        "mfa_token_invalid": ErrorSpec(
            401, _("This sign-in has expired. Sign in again."),
            note="An `mfa_token` that is unknown, expired, already used, from another client, or past "
                 "ACCOUNTS['MFA_LOGIN_ATTEMPTS'] wrong answers."),
        "mfa_code_incorrect": ErrorSpec(400, _("The code is incorrect or has already been used.")),
        "mfa_method_unavailable": ErrorSpec(
            400, _("This account has no security key."),
            note="Security-key options asked for an account that has none."),
        "session_ended": ErrorSpec(
            401, _("Too many wrong passwords: this session has been ended. Log in again."),
            note="The wrong password that reached ACCOUNTS['REAUTH_MAX_FAILURES'] ended the caller's session "
                 "(accounts.flows.reauthentication)."),
    },
    field_codes=("password_too_short", "password_too_long", "password_too_common", "password_too_similar",
                 "password_contains_context", "email_taken", "email_unsupported", "email_unchanged",
                 # a name (accounts.names) or a device name (authcore.inputs.LabelField) that is not one line
                 "control_characters_not_allowed",
                 # a proof given in none or several of its alternative fields (password, code, recovery_code)
                 "exactly_one_required"),
)
