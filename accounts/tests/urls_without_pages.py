"""A host URLconf that mounts the API but not the browser pages (for the system check test)."""
from django.urls import include, path

urlpatterns = [path("api/auth/", include("accounts.api.urls"))]
