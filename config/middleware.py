"""The host project's middleware."""
import logging
import os

from corsheaders import middleware as cors_middleware
from csp.middleware import CSPMiddleware
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from whitenoise.middleware import WhiteNoiseMiddleware

from authcore.api.errors import DATABASE_UNAVAILABLE, database_unavailable_response
from authcore.conf import app_settings
from sessions_app import browser

logger = logging.getLogger(__name__)

# The one HTML page under /api/: the API's documentation, which needs its Content-Security-Policy.
API_DOCS_PATH = "/api/docs/"


def serves_json_api(request) -> bool:
    """A request to the JSON API, which authenticates with its own tokens (DRF) and answers no page."""
    path = request.path_info
    return path.startswith("/api/") and not path.startswith(API_DOCS_PATH)


class SkippedByTheAPI:
    """Middleware that only pages need: the JSON API's requests go past it. Measured in process on GET me,
    the middleware below cost about 60 microseconds of its 600 (sessions, Django's and the pages' sign-in,
    messages, static files), and none of them protects an answer the API gives: its
    authentication is the token's (sessions_app.authentication), its errors are its own envelope, its
    answers are not documents. What does protect the API stays in front of every request: security headers,
    CORS, CSRF (the refresh cookie's check and cookie), X-Frame-Options, the language, the request id, and the
    CSP of any HTML answer (an error page under /api/ when the service is mounted under a prefix, say).

    A subclass of the middleware it skips, so that Django's checks (the admin's, for one) still find it."""

    def __call__(self, request):
        if serves_json_api(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(SkippedByTheAPI, sessions_middleware.SessionMiddleware):
    pass


class AuthenticationMiddleware(SkippedByTheAPI, auth_middleware.AuthenticationMiddleware):
    pass


class BrowserSessionMiddleware(SkippedByTheAPI, browser.BrowserSessionMiddleware):
    pass


class MessageMiddleware(SkippedByTheAPI, messages_middleware.MessageMiddleware):
    pass


class CorsMiddleware(cors_middleware.CorsMiddleware):
    """django-cors-headers, with a short way for requests that are not cross-origin.

    A browser sends `Origin` with every cross-origin request, its preflights included; a request without one gets
    no CORS header whatever the settings, only `Vary: Origin`, which keeps a cache from handing its answer to a
    cross-origin request. The full middleware reads `Origin` through `request.headers`, which builds a dictionary of
    every header: for a request that has none, that was most of its cost (in process, 5 microseconds a request
    against 13 to 18, a response's own making included). Requests with an `Origin` take the full middleware."""

    def __call__(self, request):
        if self.async_mode or "HTTP_ORIGIN" in request.META:
            return super().__call__(request)
        response = self.get_response(request)
        if self.is_enabled(request):
            patch_vary_headers(response, ("origin",))
        return response


class DocumentCSPMiddleware(CSPMiddleware):
    """django-csp's Content-Security-Policy, on documents (HTML) only.

    A policy governs what a document may load and run; a JSON answer is not one (`nosniff` keeps a browser
    from treating it as one, and X-Frame-Options still forbids framing it). django-csp builds the header's
    text anew for every response, about 70 microseconds, which on the API would be almost a tenth of an
    authenticated request.

    The JSON API's requests get no `request.csp_nonce` either: the nonce is for a page's inline scripts and
    styles, and making its lazy holder was most of what this middleware still cost them (about 12 of 13
    microseconds, bench/middleware_costs.py). An HTML answer under /api/ still gets the policy, without a nonce,
    so an inline script there is refused rather than allowed."""

    def process_request(self, request):
        if serves_json_api(request):
            return None
        return super().process_request(request)

    def process_response(self, request, response):
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)


class DatabaseUnavailableMiddleware:
    """A page or an endpoint outside the API whose database is unreachable answers 503 with Retry-After
    (the envelope under /api/, the "temporarily unavailable" page elsewhere) instead of a 500. The API's
    own views answer the same through their exception handler (authcore.api.errors)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        if request.path_info.startswith("/api/"):  # path_info: the same under a SCRIPT_NAME prefix
            return database_unavailable_json(exception)
        return database_unavailable_page(request, exception)


def database_unavailable_json(exception: BaseException) -> JsonResponse:
    """The API's 503 envelope (authcore.api.errors), for code outside a DRF view."""
    answer = database_unavailable_response(exception)
    response = JsonResponse(answer.data, status=answer.status_code)
    response["Retry-After"] = answer["Retry-After"]
    response["Cache-Control"] = "no-store"
    return response


def database_unavailable_page(request, exception: BaseException):
    """The "temporarily unavailable" page, logged as the API's answer is (authcore.api.errors)."""
    logger.error("database unavailable", exc_info=exception, extra={"event": DATABASE_UNAVAILABLE})
    retry_after = app_settings.CACHE_UNAVAILABLE_RETRY_AFTER
    response = render(request, "accounts/unavailable.html", {"retry_after": retry_after}, status=503)
    response["Retry-After"] = str(retry_after)
    return response


class StaticFilesMiddleware(SkippedByTheAPI, WhiteNoiseMiddleware):
    """WhiteNoise: the static files served by the application itself. The files `collectstatic` gathered
    (compressed, in STATIC_ROOT) when it has run; else the apps' own files, found where they are
    (WHITENOISE_USE_FINDERS), so a process started before or without `collectstatic` (a check, a command, a
    test server) still serves them and prints no warning about the missing directory."""

    def add_files(self, root, prefix=None):
        if not self.autorefresh and not os.path.isdir(root):
            return
        super().add_files(root, prefix=prefix)
