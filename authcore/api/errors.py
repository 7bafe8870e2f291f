"""One exception handler: every API error leaves as {"detail", "code"} (+ "errors" on validation)."""
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from ..audit import declare_event
from ..conf import app_settings
from ..errors import DRF_CODE_ALIASES, ERRORS, ServiceError, error_body

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = declare_event(
    "sys_database_unavailable", "The database could not be reached, or gave up on a statement: the request was "
    "answered 503 (logged at ERROR, with the exception).", recorded=False)


def _field_errors(detail, field: str | None = None) -> list[dict]:
    """Flatten DRF's nested ValidationError detail into [{"field", "code", "message"}]."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            name = field if key == "non_field_errors" else (f"{field}.{key}" if field else str(key))
            errors += _field_errors(value, name)
        return errors
    if isinstance(detail, list):
        return [error for item in detail for error in _field_errors(item, field)]
    return [{"field": field, "code": getattr(detail, "code", "invalid"), "message": str(detail)}]


def error_response(code: str, message: str | None = None, *, retry_after: int | None = None, **extra) -> Response:
    response = Response({**error_body(code, message), **extra}, status=ERRORS[code].status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def api_exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        extra = {**exc.data, **({"errors": exc.field_errors} if exc.field_errors else {})}
        response = error_response(exc.code, exc.message, retry_after=exc.retry_after, **extra)
        for name, value in exc.headers.items():
            response[name] = value
        return response
    if isinstance(exc, serializers.ValidationError):
        return error_response("invalid", errors=_field_errors(exc.detail))
    if isinstance(exc, RequestDataTooBig):
        # Django's own cap (DATA_UPLOAD_MAX_MEMORY_SIZE), e.g. for a host project's form-parsing view.
        return error_response("request_too_large")
    if isinstance(exc, Http404):
        return error_response("not_found")
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_unavailable_response(exc)
    if isinstance(exc, DjangoPermissionDenied):
        return error_response("permission_denied")
    if isinstance(exc, exceptions.APIException):
        return _drf_error_response(exc, context)
    # A bug, not bad input: log it with its traceback, answer with the envelope and no details.
    logger.error("Unhandled API error", exc_info=exc)
    return error_response("server_error")


def _drf_error_response(exc: exceptions.APIException, context) -> Response:
    raw_code = exc.detail.get("code") if isinstance(exc.detail, dict) else getattr(exc.detail, "code", None)
    # DRF's own codes mapped onto ours (each app adds its aliases with authcore.errors.register_errors).
    code = DRF_CODE_ALIASES.get(str(raw_code)) or DRF_CODE_ALIASES.get(exc.default_code, "server_error")
    response = error_response(code)
    if response.status_code == 401:
        # Keep the WWW-Authenticate challenge DRF would have sent with its 401.
        authenticate_header = context["view"].get_authenticate_header(context["request"])
        if authenticate_header:
            response["WWW-Authenticate"] = authenticate_header
    if getattr(exc, "wait", None):
        response["Retry-After"] = str(int(exc.wait))
    # An authentication failure that says more than the view's challenge (a DPoP error, a nonce to use).
    for name, value in getattr(exc, "headers", {}).items():
        response[name] = value
    return response


def database_unavailable_response(exc: BaseException) -> Response:
    """The database could not be reached (or gave up on the statement): 503 with Retry-After, which the
    client may retry, not a 500. Django drops the failed connection when the request ends and connects
    afresh for the next one, so the service recovers without a restart."""
    logger.error("database unavailable", exc_info=exc, extra={"event": DATABASE_UNAVAILABLE})
    return error_response("service_unavailable", retry_after=app_settings.CACHE_UNAVAILABLE_RETRY_AFTER)


__all__ = ["DATABASE_UNAVAILABLE", "api_exception_handler", "database_unavailable_response", "error_response"]
