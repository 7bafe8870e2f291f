"""The error codes of accounts: what logging in, changing a password and the emailed links can fail
with, and the field codes of the password and address rules."""
from authcore.errors import ErrorSpec, register_errors

register_errors(
    {
        "password_incorrect": ErrorSpec(400, "The current password is incorrect."),
        "invalid_token": ErrorSpec(400, "This link is invalid or has expired."),
        "invalid_credentials": ErrorSpec(401, "Invalid email or password."),
        "email_not_verified": ErrorSpec(403, "Please verify your email address before logging in."),
        # Confirming an address change when another account took the address after the request.
        "email_taken": ErrorSpec(409, "This address now belongs to another account."),
    },
    field_codes=("password_too_short", "password_too_long", "password_too_common", "password_too_similar",
                 "password_contains_context", "email_taken", "email_unsupported", "email_unchanged"),
)
