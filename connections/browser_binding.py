"""The cookie that ties a connection attempt to the browser that started it.

The callback page has no logged-in user to compare with (the API's users hold bearer tokens, not a browser
session), and `state` alone would let anyone who started an attempt send its authorization URL to a victim,
whose provider account would then be connected to the attacker's account here. So the start sets an
HttpOnly cookie with a random value whose hash is stored with the attempt, and the callback completes only
when the browser presents it. SameSite=Lax: the provider's redirect back is a top-level navigation, which
Lax cookies accompany."""
from django.conf import settings

from .conf import app_settings


def binding_cookie_name(provider: str) -> str:
    # Over https, the __Host- prefix: browsers then accept the cookie only from this very host, Secure and
    # with Path=/, so a sibling subdomain (or plain http) cannot plant a binding of its choosing.
    return f"__Host-connect_{provider}" if settings.SESSION_COOKIE_SECURE else f"connect_{provider}"


def set_binding_cookie(response, provider: str, started) -> None:
    response.set_cookie(binding_cookie_name(provider), started.browser_binding,
                        max_age=int(app_settings.STATE_LIFETIME.total_seconds()), path="/",
                        secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax")


def binding_from(request, provider: str) -> str | None:
    return request.COOKIES.get(binding_cookie_name(provider))


def clear_binding_cookie(response, provider: str) -> None:
    response.delete_cookie(binding_cookie_name(provider), path="/", samesite="Lax")
