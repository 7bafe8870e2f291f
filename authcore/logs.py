"""Log lines an operator can search: an optional JSON format, a request id on every line of a request, and
no live link token in any line.

- `JsonFormatter`: one JSON object a line with the time, level, logger, message, and whatever the line
  carries of: the OWASP event name (`event`), `request_id`, `user_id`, `session_id`, `ip_address`, and a
  security event's `detail_*` fields. Chosen with LOG_FORMAT=json in this project's settings.
- `RequestIdMiddleware` gives each request an id (the proxy's `X-Request-ID` when it is a plausible id,
  else a new one), returns it in the `X-Request-ID` header, and `RequestContextFilter` puts it on every line
  logged while the request runs.
- `RequestContextFilter` also blanks whatever an app registered as secret (`register_redaction`: an emailed
  link's token, say) wherever a line would show it (Django logs the path of a failed request), so that
  whoever reads the logs cannot use it.
"""
import contextvars
from datetime import UTC, datetime
import json
import logging
import re
import uuid

from django.core.signals import request_finished

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{8,64}")  # the whole value (fullmatch): no line breaks
CONTEXT_FIELDS = ("event", "request_id", "user_id", "actor_id", "session_id", "ip_address")
# What no line may show, as each app declared it (register_redaction).
REDACTIONS: list[re.Pattern[str]] = []


def register_redaction(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """Declare text no log line may show: each match becomes "[redacted]", after the text of the pattern's
    first group if it has one (what says which secret it was, the path before a link's token, say).
    Declaring a pattern twice is harmless (module reloads)."""
    compiled = re.compile(pattern)
    if compiled not in REDACTIONS:
        REDACTIONS.append(compiled)
    return compiled


def _redacted(match: re.Match[str]) -> str:
    kept = (match.group(1) or "") if match.re.groups else ""
    return f"{kept}[redacted]"


def current_request_id() -> str | None:
    return _request_id.get()


def redact(text: str) -> str:
    for pattern in REDACTIONS:
        text = pattern.sub(_redacted, text)
    return text


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if REQUEST_ID_PATTERN.fullmatch(offered) else uuid.uuid4().hex
        # Kept until the request is finished (request_finished resets it), not only while the middleware
        # runs: Django logs a failed request's line after the middleware chain has returned.
        _request_id.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def _forget_request_id(**kwargs) -> None:
    _request_id.set(None)


request_finished.connect(_forget_request_id, dispatch_uid="authcore.logs.forget_request_id")


class RequestContextFilter(logging.Filter):
    """Adds the request id and blanks what is registered as secret; never drops a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get() or "-"
        try:
            message = record.getMessage()
        except Exception:  # a malformed call (wrong arguments): logging itself reports it, never the caller
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value not in (None, "-"):
                entry[name] = value
        entry.update({name: value for name, value in vars(record).items() if name.startswith("detail_")})
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
