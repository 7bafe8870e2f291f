"""Who is on the other end of a request: client IP (proxy-aware) and user agent."""
from dataclasses import dataclass
import ipaddress

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
    """django-ratelimit's IP source (settings.RATELIMIT_IP_META_KEY), so limits see the same client IP."""
    return client_ip(request) or "0.0.0.0"


def client_info(request) -> ClientInfo:
    return ClientInfo(
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH],
    )
