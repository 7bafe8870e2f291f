"""Who is on the other end of a request: client IP (proxy-aware) and user agent."""
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
import ipaddress
from typing import Any

from .conf import app_settings

USER_AGENT_MAX_LENGTH = 512


@dataclass(frozen=True)
class ClientInfo:
    ip_address: str | None = None
    user_agent: str = ""


def client_ip(request) -> str | None:
    """The client address. X-Forwarded-For is trusted only through TRUSTED_PROXY_COUNT proxies: each
    trusted proxy appends the address it saw, so the real client is that many entries from the right.
    Anything further left was written by the client and can be forged."""
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = app_settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            remote = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(remote)) if remote else None
    except ValueError:
        return None


def ratelimit_client_ip(request) -> str:
    """django-ratelimit's IP source (settings.RATELIMIT_IP_META_KEY), so its decorators, if a host project
    uses them, see the same client IP as our limits."""
    return client_ip(request) or "0.0.0.0"


@dataclass(frozen=True)
class Operator:
    """Who is acting on someone else's behalf (an operator in the admin), and from where."""

    actor: Any
    client: ClientInfo


_operator: ContextVar[Operator | None] = ContextVar("acting_operator", default=None)


@contextmanager
def operator_acting(actor, client: ClientInfo) -> Iterator[None]:
    """Within this block, changes that happen as side effects of a save (a model hook, say) can name the
    operator who caused them in the audit log; see `acting_operator`."""
    token = _operator.set(Operator(actor=actor, client=client))
    try:
        yield
    finally:
        _operator.reset(token)


def acting_operator() -> Operator | None:
    return _operator.get()


def client_info(request) -> ClientInfo:
    return ClientInfo(
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH],
    )
