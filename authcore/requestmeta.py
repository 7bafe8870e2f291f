"""Who is on the other end of a request: client IP (proxy-aware), user agent, and the key it proved it holds."""
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
    # The RFC 7638 thumbprint of the key the client proved it holds in this request (a DPoP proof at a token
    # endpoint, sessions_app.dpop), "" for none: a session it opens is bound to that key.
    dpop_jkt: str = ""


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


def client_network(ip_address: str | None, *, ipv4_prefix: int,
                   ipv6_prefix: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The network of a client address, for rules that treat nearby addresses as one place (a login
    throttle's client, a sign-in alert's "same network"); each says how wide. None for an unknown address.
    An IPv4 client seen as "::ffff:203.0.113.7" is an IPv4 client."""
    if not ip_address:
        return None
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = ipv4_prefix if address.version == 4 else ipv6_prefix
    return ipaddress.ip_network(f"{address}/{prefix}", strict=False)


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
