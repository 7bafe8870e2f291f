"""Rate limits per client IP and per account, counted by django-ratelimit in the shared cache.

The account key is the email exactly as submitted (case-folded), whether or not such an account exists,
so a limit being hit reveals nothing about which accounts exist.

When the cache cannot be reached, each scope either lets the request through (fails open) or answers
503 `service_unavailable` with Retry-After (fails closed): see SESSIONS_APP["RATE_LIMIT_FAIL_OPEN"]. The
outage is logged on the `security` logger every time a request meets it; it is not written to the
database, so a cache outage cannot turn into a flood of audit rows.
"""
from collections.abc import Callable
import hashlib
import logging
from typing import TypeVar

from django_ratelimit.core import get_usage

from .audit import record_security_event
from .conf import app_settings
from .errors import ServiceError
from .models import SecurityEvent
from .requestmeta import ClientInfo, client_info, ratelimit_client_ip

logger = logging.getLogger("security")
T = TypeVar("T")


def _cache_backend_errors() -> tuple[type[BaseException], ...]:
    """What a cache backend raises when its server is unreachable or too slow. Django's Redis backend lets
    redis-py's errors through; socket-level failures surface as OSError (ConnectionError, TimeoutError)."""
    errors: list[type[BaseException]] = [OSError]
    try:
        from redis.exceptions import RedisError
    except ImportError:  # no Redis client installed: another cache backend is in use
        pass
    else:
        errors.append(RedisError)
    return tuple(errors)


CACHE_BACKEND_ERRORS = _cache_backend_errors()


def fails_open(scope: str) -> bool:
    return scope in app_settings.RATE_LIMIT_FAIL_OPEN


def with_limit_cache(scope: str, work: Callable[[], T], *, fallback: T, best_effort: bool = False) -> T:
    """Run `work` (cache reads and writes for `scope`'s limits). If the cache backend fails, log it and
    return `fallback` when the scope fails open (or the work is `best_effort`: forgetting failures, say,
    is never worth refusing a request over); otherwise refuse with 503 and Retry-After, never a 500."""
    try:
        return work()
    except CACHE_BACKEND_ERRORS as error:
        open_ = best_effort or fails_open(scope)
        logger.error(
            "rate-limit cache unavailable", exc_info=error,
            extra={"event": "sys_ratelimit_cache_unavailable", "detail_scope": scope,
                   "detail_outcome": "allowed" if open_ else "refused"},
        )
        if open_:
            return fallback
        raise ServiceError("service_unavailable", retry_after=app_settings.CACHE_UNAVAILABLE_RETRY_AFTER) from None


def scope_rates(scope: str) -> dict[str, str | None]:
    """The limits of one scope: the defaults, with what the host project's RATE_LIMITS says for that scope
    laid over them key by key. Overriding one scope never switches off another; a key set to None is off."""
    defaults = app_settings._defaults["RATE_LIMITS"]
    configured = app_settings.RATE_LIMITS
    if scope not in defaults and scope not in configured:
        raise ValueError(f"unknown rate limit scope {scope!r}")
    return {**defaults.get(scope, {}), **configured.get(scope, {})}


def rate_limited(*, scope: str, key: str, retry_after: int, client: ClientInfo | None, **details) -> ServiceError:
    """The error for a spent limit, recorded as a security event (a 429 is always worth knowing about)."""
    record_security_event(SecurityEvent.Kind.RATE_LIMITED, client=client, scope=scope, key=key, **details)
    return ServiceError("rate_limited", retry_after=max(int(retry_after), 1))


def account_digest(account: str) -> str:
    # A digest, not the text: the submitted value can be any JSON string, including lone surrogates
    # that django-ratelimit cannot encode (a 500 before the input is even validated).
    return hashlib.sha256(account.strip().casefold().encode("utf-8", "surrogatepass")).hexdigest()


def enforce_rate_limit(request, *, scope: str, account: str | None = None) -> None:
    """Count this request against `scope`'s limits; raise ServiceError("rate_limited") when one is spent."""
    for key_kind, rate in scope_rates(scope).items():
        if key_kind == "ip":
            value = ratelimit_client_ip(request)
        elif key_kind == "account":
            if not account:
                continue
            value = account_digest(account)
        else:
            raise ValueError(f"unknown rate limit key {key_kind!r} for scope {scope!r}")
        usage = with_limit_cache(scope, lambda: get_usage(
            request, group=f"{scope}:{key_kind}", key=lambda _group, _request, value=value: value,
            rate=rate, increment=True,
        ), fallback=None)
        if usage and usage["should_limit"]:
            raise rate_limited(scope=scope, key=key_kind, retry_after=usage["time_left"],
                               client=client_info(request))
