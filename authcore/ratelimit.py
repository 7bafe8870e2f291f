"""Rate limits per client IP and per account, counted by django-ratelimit in the shared cache.

Each app declares its scopes with `declare_scope` (defaults, and whether the scope lets requests through
while the cache is unreachable); the host project lays AUTHCORE["RATE_LIMITS"] over those defaults. The
flows (service functions) call `enforce_rate_limit` themselves, so every entry point that runs a flow has
its limits; the edges only turn `rate_limited` into a 429 or a page.

The account key is whatever the flow passes (the submitted address, or a user id), digested, whether or
not such an account exists, so a limit being hit reveals nothing about which accounts exist.

When the cache cannot be reached, a scope either lets the request through (fails open) or answers 503
`service_unavailable` with Retry-After (fails closed). The outage is logged on the `security` logger every
time a request meets it; it is not written to the database, so an outage cannot turn into a flood of
audit rows.
"""
from collections.abc import Callable
from dataclasses import dataclass
import hashlib
import logging
from typing import TypeVar

from django.core.cache import cache
from django_ratelimit.core import get_usage

from .audit import declare_event, record_security_event
from .conf import app_settings
from .errors import ServiceError
from .requestmeta import ClientInfo

logger = logging.getLogger("security")
T = TypeVar("T")

RATE_LIMITED = declare_event(
    "excess_rate_limit_exceeded", "A request was refused over a rate limit: the first refusal of a client or "
    "account in each window (details: `scope`, `key`, \"ip\" or \"account\").")
CACHE_UNAVAILABLE = declare_event(
    "sys_ratelimit_cache_unavailable", "The rate-limit cache could not be reached; logged at ERROR every time a "
    "request meets it (fields: `detail_scope`, `detail_outcome`, \"allowed\" or \"refused\").", recorded=False)
KEY_KINDS = ("ip", "account")


@dataclass(frozen=True)
class Scope:
    name: str
    rates: dict[str, str | None]  # key kind -> django-ratelimit rate
    fail_open: bool


SCOPES: dict[str, Scope] = {}


def declare_scope(name: str, *, fail_open: bool, **rates: str | None) -> Scope:
    """Declare a rate-limit scope with its default limits per key kind ("ip", "account"), and whether it
    lets requests through while the cache is unreachable (say why, where it is declared)."""
    unknown = set(rates) - set(KEY_KINDS)
    if unknown:
        raise ValueError(f"unknown rate limit keys {sorted(unknown)} for scope {name!r}")
    SCOPES[name] = Scope(name=name, rates=rates, fail_open=fail_open)
    return SCOPES[name]


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
    configured = app_settings.RATE_LIMIT_FAIL_OPEN
    if configured is not None:
        return scope in configured
    declared = SCOPES.get(scope)
    return declared.fail_open if declared else False


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
            extra={"event": CACHE_UNAVAILABLE, "detail_scope": scope,
                   "detail_outcome": "allowed" if open_ else "refused"},
        )
        if open_:
            return fallback
        raise ServiceError("service_unavailable", retry_after=app_settings.CACHE_UNAVAILABLE_RETRY_AFTER) from None


def scope_rates(scope: str) -> dict[str, str | None]:
    """The limits of one scope: its declared defaults, with what the host project's RATE_LIMITS says for
    that scope laid over them key by key. Overriding one scope never switches off another; a key set to
    None is off. A scope only the host project names is known too."""
    configured = app_settings.RATE_LIMITS
    if scope not in SCOPES and scope not in configured:
        raise ValueError(f"unknown rate limit scope {scope!r}")
    declared = SCOPES[scope].rates if scope in SCOPES else {}
    return {**declared, **configured.get(scope, {})}


def rate_limited(*, scope: str, key: str, subject: str, retry_after: int, client: ClientInfo | None,
                 **details) -> ServiceError:
    """The error for a spent limit. The first refusal of `subject` (the limited IP address, account, ...) in
    each window is recorded as a security event; the refusals after it in the same window are not: a client
    hammering a spent limit would otherwise write a row per request."""
    retry_after = max(int(retry_after), 1)
    marker = f"ratelimit-event:{scope}:{key}:" + hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()
    first = with_limit_cache(scope, lambda: cache.add(marker, 1, timeout=retry_after), fallback=True,
                             best_effort=True)
    if first:
        record_security_event(RATE_LIMITED, client=client, scope=scope, key=key, **details)
    return ServiceError("rate_limited", retry_after=retry_after)


def account_digest(account: str) -> str:
    # A digest, not the text: the submitted value can be any JSON string, including lone surrogates
    # that django-ratelimit cannot encode (a 500 before the input is even validated).
    return hashlib.sha256(account.strip().casefold().encode("utf-8", "surrogatepass")).hexdigest()


def enforce_rate_limit(*, scope: str, client: ClientInfo, account: str | None = None, count: bool = True) -> None:
    """Count one request against `scope`'s limits; raise ServiceError("rate_limited") when one is spent. With
    `count=False`, only look: refuse if a limit is already spent (for budgets of failures, counted after)."""
    for key_kind, rate in scope_rates(scope).items():
        if key_kind == "ip":
            value = client.ip_address or "0.0.0.0"
        elif key_kind == "account":
            if not account:
                continue
            value = account_digest(account)
        else:
            raise ValueError(f"unknown rate limit key {key_kind!r} for scope {scope!r}")
        # get_usage needs no request for what we use (our own key and any method).
        usage = with_limit_cache(scope, lambda key_kind=key_kind, value=value, rate=rate: get_usage(
            None, group=f"{scope}:{key_kind}", key=lambda _group, _request: value, rate=rate, increment=count,
        ), fallback=None)
        if usage and usage["should_limit"]:
            raise rate_limited(scope=scope, key=key_kind, subject=value, retry_after=usage["time_left"],
                               client=client)
