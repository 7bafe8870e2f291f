import sys

from django.contrib import admin
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView

from authcore.errors import error_body
from sessions_app.api.views import JWKSView

from . import views
from .middleware import database_unavailable_json, database_unavailable_page

urlpatterns = [
    path("api/auth/mfa/", include("mfa.api.urls")),
    path("api/auth/passkey/", include("mfa.api.passkey_urls")),
    path("api/auth/", include("accounts.api.urls")),
    path("api/auth/", include("sessions_app.api.urls")),
    path("api/connections/", include("connections.api.urls")),
    # The public keys of access tokens, at the address resource servers look for (RFC 8414's well-known URIs).
    path(".well-known/jwks.json", JWKSView.as_view(), name="jwks"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", views.ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("accounts/mfa/", include("mfa.urls")),
    path("accounts/", include("accounts.urls")),
    path("connections/", include("connections.urls")),
    path("admin/", admin.site.urls),
    # Django's set_language view: the pages' language switcher posts to it (a cookie, no account needed).
    path("i18n/", include("django.conf.urls.i18n")),
    path("", views.home, name="home"),
]


def _wants_json(request) -> bool:
    return request.path_info.startswith("/api/")  # path_info: the same under a SCRIPT_NAME prefix


def handler400(request, exception=None):
    """A request Django refuses before any view (a Host header not in ALLOWED_HOSTS, say): the JSON envelope
    under /api/, Django's page elsewhere."""
    if _wants_json(request):
        response = JsonResponse(error_body("bad_request"), status=400)
        response["Cache-Control"] = "no-store"
        return response
    return defaults.bad_request(request, exception)


def handler404(request, exception=None):
    if _wants_json(request):
        response = JsonResponse(error_body("not_found"), status=404)
        response["Cache-Control"] = "no-store"
        return response
    return defaults.page_not_found(request, exception)


def handler500(request):
    # A database error raised outside any view (a middleware saving the session, say) still means "try
    # again shortly", not "bug": 503 with Retry-After, as for views (config/middleware.py).
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        if _wants_json(request):
            return database_unavailable_json(error)
        return database_unavailable_page(request, error)
    if _wants_json(request):
        return JsonResponse(error_body("server_error"), status=500)
    return defaults.server_error(request)

