"""Rate limits per client IP and per account, counted by django-ratelimit in the shared cache.

The account key is the email exactly as submitted (case-folded), whether or not such an account exists,
so a limit being hit reveals nothing about which accounts exist.
"""
import hashlib

from django_ratelimit.core import get_usage

from .audit import record_security_event
from .conf import app_settings
from .errors import ServiceError
from .models import SecurityEvent
from .requestmeta import client_info, ratelimit_client_ip


def scope_rates(scope: str) -> dict[str, str | None]:
    """The limits of one scope: the defaults, with what the host project's RATE_LIMITS says for that scope
    laid over them key by key. Overriding one scope never switches off another; a key set to None is off."""
    defaults = app_settings._defaults["RATE_LIMITS"]
    configured = app_settings.RATE_LIMITS
    if scope not in defaults and scope not in configured:
        raise ValueError(f"unknown rate limit scope {scope!r}")
    return {**defaults.get(scope, {}), **configured.get(scope, {})}


def enforce_rate_limit(request, *, scope: str, account: str | None = None) -> None:
    """Count this request against `scope`'s limits; raise ServiceError("rate_limited") when one is spent."""
    for key_kind, rate in scope_rates(scope).items():
        if key_kind == "ip":
            value = ratelimit_client_ip(request)
        elif key_kind == "account":
            if not account:
                continue
            # A digest, not the text: the submitted value can be any JSON string, including lone surrogates
            # that django-ratelimit cannot encode (a 500 before the input is even validated).
            value = hashlib.sha256(account.strip().casefold().encode("utf-8", "surrogatepass")).hexdigest()
        else:
            raise ValueError(f"unknown rate limit key {key_kind!r} for scope {scope!r}")
        usage = get_usage(
            request, group=f"{scope}:{key_kind}", key=lambda _group, _request, value=value: value,
            rate=rate, increment=True,
        )
        if usage and usage["should_limit"]:
            record_security_event(
                SecurityEvent.Kind.RATE_LIMITED, client=client_info(request), scope=scope, key=key_kind
            )
            raise ServiceError("rate_limited", retry_after=max(usage["time_left"], 1))
