"""How a refresh token travels between a client and us: in the JSON body, or in an HttpOnly cookie.

A client chooses at login (`"transport": "cookie"`; `"body"` is the default) and the session remembers it.
The flows (services) do not know about transports: rotation, reuse detection, grace and lifetimes are the
same for both. This module is the edge: where the token is read from, where the new one goes, and the CSRF
check that a cookie makes necessary.

- Body: the refresh token is in the request and the response bodies; no cookie, no CSRF token (REST
  clients, mobile apps, services).
- Cookie: the refresh token is never in a response body, so page scripts cannot read it (an XSS cannot
  steal it). Login and every refresh set it in an HttpOnly cookie scoped to the endpoints that read it;
  refresh and logout read it from there. Because a browser attaches that cookie to any request to those
  endpoints, including one a hostile page makes it send, every request that presents the cookie must pass
  Django's CSRF check (the `X-CSRFToken` header matching the `csrftoken` cookie, plus Django's Origin and
  Referer checks) before the token is even looked at: a refused request spends nothing.
"""
from urllib.parse import urlsplit

from django.conf import settings
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework.authentication import CSRFCheck

from authcore.errors import ServiceError

from ..conf import app_settings
from ..models import Session
from ..services import IssuedTokens

BODY, COOKIE = Session.Transport.BODY, Session.Transport.COOKIE

# The errors after which the presented token will never work again: the cookie goes with them. Other
# refusals (a rate limit, a cache outage, a failed CSRF check) leave it, so that nobody can make a
# browser drop its session by sending it somewhere.
SESSION_ENDING_ERRORS = frozenset({"token_not_valid", "refresh_token_reused"})


def refresh_cookie_name() -> str:
    # `__Secure-`, not `__Host-`: the cookie is scoped to the path of the endpoints that read it
    # (/api/auth/cookie/), so no other endpoint ever receives it (nor logs it), and `__Host-` requires
    # Path=/. The prefix makes a browser accept the cookie only with Secure from an HTTPS response, so
    # that a network attacker cannot plant one over plain HTTP. Without Secure (DEBUG only,
    # for local http) the prefix would make browsers drop the cookie, so it goes too.
    return "__Secure-refresh" if app_settings.REFRESH_COOKIE_SECURE else "refresh"


def refresh_cookie_path() -> str:
    """The narrowest path that covers both endpoints that read the cookie (its refresh and logout)."""
    paths = [reverse("auth-cookie-refresh"), reverse("auth-cookie-logout")]
    common = paths[0]
    while not all(path.startswith(common) for path in paths):
        common = common[:-1]
    return common[: common.rfind("/") + 1] or "/"


def _cookie_attributes() -> dict:
    return {"path": refresh_cookie_path(), "secure": app_settings.REFRESH_COOKIE_SECURE, "httponly": True,
            "samesite": app_settings.REFRESH_COOKIE_SAMESITE}


def set_refresh_cookie(response, tokens: IssuedTokens) -> None:
    """The new refresh token in the cookie, living exactly as long as what is left of the session's absolute
    lifetime (rotation never extends it, and neither does the cookie)."""
    remaining = tokens.session.expires_at - timezone.now()
    response.set_cookie(refresh_cookie_name(), tokens.refresh, max_age=max(int(remaining.total_seconds()), 0),
                        **_cookie_attributes())


def clear_refresh_cookie(response) -> None:
    """Expire the cookie: the same name, path and attributes, so the browser replaces it."""
    response.set_cookie(refresh_cookie_name(), "", max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT",
                        **_cookie_attributes())


def cookie_refresh_token(request) -> str | None:
    return request.COOKIES.get(refresh_cookie_name()) or None


class RefreshCookieCsrfCheck(CSRFCheck):
    """Django's CSRF check, with the browser apps of CORS_ALLOWED_ORIGINS trusted as origins, for the
    cookie's endpoints only: adding them to CSRF_TRUSTED_ORIGINS would trust them on every form of the
    service (the admin's included), where an XSS in the app could then post."""

    @cached_property
    def allowed_origins_exact(self):
        return super().allowed_origins_exact | set(getattr(settings, "CORS_ALLOWED_ORIGINS", []))

    @cached_property
    def csrf_trusted_origins_hosts(self):
        return [*super().csrf_trusted_origins_hosts,
                *(urlsplit(origin).netloc.lstrip("*") for origin in getattr(settings, "CORS_ALLOWED_ORIGINS", []))]


def enforce_csrf(request) -> None:
    """Django's own CSRF check for a request that presents the refresh cookie; 403 `csrf_failed` if it
    fails. `request` is Django's request (a DRF view passes request._request)."""
    check = RefreshCookieCsrfCheck(lambda _request: None)
    check.process_request(request)  # reads the csrftoken cookie
    if check.process_view(request, None, (), {}) is not None:
        raise ServiceError("csrf_failed")


def issue_csrf_token(request) -> str:
    """A CSRF token for the page, and Django's `csrftoken` cookie with it (the middleware sets it on the
    response). Same-site apps read the cookie; apps on another origin read the token from a body."""
    return get_token(request)


def body_and_cookie(data: dict, tokens: IssuedTokens, response_factory):
    """The response for a new pair: the refresh token in the body, or only in the cookie for a cookie-mode
    session (whichever way the presented token came in: the session's transport decides)."""
    if tokens.session.transport == COOKIE:
        response = response_factory({key: value for key, value in data.items() if key != "refresh"})
        set_refresh_cookie(response, tokens)
        return response
    return response_factory(data)
