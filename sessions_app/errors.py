"""Every error the API can answer with: one machine code, one HTTP status, one message, in one table.

Services raise `ServiceError(code)`; the API's exception handler (sessions_app.api.errors) and the browser
views turn it into a response. The codes are part of the public contract and listed in the OpenAPI schema.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    message: str


ERRORS: dict[str, ErrorSpec] = {
    # 400
    "invalid": ErrorSpec(400, "The request has invalid fields."),
    "parse_error": ErrorSpec(400, "The request body is not valid JSON."),
    "password_incorrect": ErrorSpec(400, "The current password is incorrect."),
    "invalid_token": ErrorSpec(400, "This link is invalid or has expired."),
    # 401
    "not_authenticated": ErrorSpec(401, "Authentication credentials were not provided."),
    "invalid_credentials": ErrorSpec(401, "Invalid email or password."),
    "token_not_valid": ErrorSpec(401, "The token is invalid or expired."),
    "refresh_token_reused": ErrorSpec(
        401, "This refresh token was already used. The session has been ended; please log in again."
    ),
    # 403
    "permission_denied": ErrorSpec(403, "You do not have permission to perform this action."),
    "email_not_verified": ErrorSpec(403, "Please verify your email address before logging in."),
    # 404 / 405 / 406 / 413 / 415 / 429 / 500 / 503
    "not_found": ErrorSpec(404, "Not found."),
    "method_not_allowed": ErrorSpec(405, "Method not allowed."),
    "not_acceptable": ErrorSpec(406, "The requested response format is not available."),
    "request_too_large": ErrorSpec(413, "The request body is too large."),
    "unsupported_media_type": ErrorSpec(415, "Send the request body as application/json."),
    "rate_limited": ErrorSpec(429, "Too many requests. Try again later."),
    "server_error": ErrorSpec(500, "Internal server error."),
    # A dependency the request needs (the rate-limit cache) is unreachable; sent with Retry-After.
    "service_unavailable": ErrorSpec(503, "The service is temporarily unavailable. Try again shortly."),
}

# Field-level validation codes that appear inside `errors[]` of a 400 `invalid` answer.
FIELD_ERROR_CODES = (
    "required", "null", "blank", "invalid", "max_length", "min_length", "max_value", "min_value",
    "not_a_dict", "password_too_short", "password_too_long", "password_too_common",
    "password_too_similar", "password_contains_context", "email_taken", "email_unsupported",
    "null_characters_not_allowed", "surrogate_characters_not_allowed",
)

ERROR_CODE_CHOICES = [(code, code) for code in ERRORS]


class ServiceError(Exception):
    """A domain error with a stable machine code; its status and default message come from ERRORS."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        retry_after: int | None = None,
        field_errors: list[dict] | None = None,
    ) -> None:
        if code not in ERRORS:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.status = ERRORS[code].status
        self.message = message or ERRORS[code].message
        self.retry_after = retry_after
        # [{"field", "code", "message"}], as in the API's 400 envelope and next to browser form fields.
        self.field_errors = field_errors or []
        super().__init__(self.message)


def error_body(code: str, message: str | None = None) -> dict:
    return {"detail": message or ERRORS[code].message, "code": code}


def validation_error(field: str, django_error) -> ServiceError:
    """A Django ValidationError (e.g. from the password validators) as a 400 `invalid` ServiceError."""
    return ServiceError(
        "invalid",
        field_errors=[
            {"field": field, "code": error.code or "invalid", "message": message}
            for error in django_error.error_list
            for message in error.messages
        ],
    )
