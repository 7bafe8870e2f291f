from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView

from authcore.errors import error_body

from . import views

urlpatterns = [
    path("api/auth/", include("accounts.api.urls")),
    path("api/auth/", include("sessions_app.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", views.ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("", views.home, name="home"),
]


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


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
    if _wants_json(request):
        return JsonResponse(error_body("server_error"), status=500)
    return defaults.server_error(request)
