"""Errors as data: each machine code has one HTTP status and one message, in one registry.

Services raise `ServiceError(code)`; the API's exception handler (authcore.api.errors) and the browser views
turn it into a response. The kernel declares the codes of the transport (bad JSON, too large, rate limited,
...); each app declares its own domain codes with `register_errors`, in its own errors module, so a reader
looking for "what can login fail with" finds it in the app that logs people in. The codes are part of the
public contract and listed in the OpenAPI schema.
"""
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    message: str  # the default `detail` of the answer: a lazy translation, read in the answer's language
    # When the code is answered, where the message alone does not say (shown in the errors reference).
    note: str = ""


ERRORS: dict[str, ErrorSpec] = {}
# The same codes as (value, label) pairs for the OpenAPI enum (SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES),
# filled in place as apps register, so the imported list is always the whole one.
ERROR_CODE_CHOICES: list[tuple[str, str]] = []
# Field-level validation codes that appear inside `errors[]` of a 400 `invalid` answer.
FIELD_ERROR_CODES: list[str] = []
# DRF exception codes an app answers with one of its own codes (e.g. authentication_failed).
DRF_CODE_ALIASES: dict[str, str] = {}


def register_errors(codes: dict[str, ErrorSpec], *, field_codes: Iterable[str] = (),
                    drf_aliases: dict[str, str] | None = None) -> None:
    """Declare an app's error codes. Declaring a code twice with the same meaning is harmless (module
    reloads); a clash between two apps is a configuration error."""
    for code, spec in codes.items():
        if code in ERRORS and ERRORS[code] != spec:
            raise ImproperlyConfigured(f"error code {code!r} is declared twice with different meanings")
        if code not in ERRORS:
            ERRORS[code] = spec
            ERROR_CODE_CHOICES.append((code, code))
    FIELD_ERROR_CODES.extend(code for code in field_codes if code not in FIELD_ERROR_CODES)
    DRF_CODE_ALIASES.update(drf_aliases or {})


register_errors(
    {
        "invalid": ErrorSpec(400, _("The request has invalid fields.")),
        "parse_error": ErrorSpec(400, _("The request body is not valid JSON.")),
        "bad_request": ErrorSpec(400, _("The request could not be accepted."),
                                 note="Refused before any view: a Host header not in ALLOWED_HOSTS, a malformed "
                                      "request."),
        "not_authenticated": ErrorSpec(401, _("Authentication credentials were not provided.")),
        "permission_denied": ErrorSpec(
            403, _("You do not have permission to perform this action."),
            note="No endpoint of the apps answers it; an API the host project adds with DRF permission classes "
                 "does, through the same exception handler."),
        "not_found": ErrorSpec(404, _("Not found.")),
        "method_not_allowed": ErrorSpec(405, _("Method not allowed.")),
        "not_acceptable": ErrorSpec(406, _("The requested response format is not available.")),
        "request_too_large": ErrorSpec(413, _("The request body is too large.")),
        "unsupported_media_type": ErrorSpec(415, _("Send the request body as application/json.")),
        "rate_limited": ErrorSpec(429, _("Too many requests. Try again later.")),
        "server_error": ErrorSpec(500, _("Internal server error.")),
        "service_unavailable": ErrorSpec(
            503, _("The service is temporarily unavailable. Try again shortly."),
            note="A dependency the request needs (the rate-limit cache, the database) is unreachable; sent with "
                 "Retry-After."),
    },
    field_codes=("required", "null", "blank", "invalid", "max_length", "min_length", "max_value", "min_value",
                 "not_a_dict", "null_characters_not_allowed", "surrogate_characters_not_allowed"),
    drf_aliases={code: code for code in ("not_authenticated", "permission_denied", "not_found",
                                         "method_not_allowed", "not_acceptable", "unsupported_media_type",
                                         "parse_error")} | {"throttled": "rate_limited"},
)

field_error_codes_text = lazy(lambda: ", ".join(FIELD_ERROR_CODES), str)


class ServiceError(Exception):
    """A domain error with a stable machine code; its status and default message come from ERRORS."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        retry_after: int | None = None,
        field_errors: list[dict] | None = None,
        data: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if code not in ERRORS:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.status = ERRORS[code].status
        self.message = message or ERRORS[code].message
        self.retry_after = retry_after
        # [{"field", "code", "message"}], as in the API's 400 envelope and next to browser form fields.
        self.field_errors = field_errors or []
        # Fields the answer carries beside `detail` and `code`, for an error that is a step of a flow rather
        # than its end (401 `mfa_required` gives the token and the methods of the second step).
        self.data = data or {}
        # Response headers the answer must carry (a server nonce to use next, say).
        self.headers = headers or {}
        # The code, not the message: the message is translated when it is read, and a log line or a traceback
        # stays in one language (English, the code's).
        super().__init__(code)


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
