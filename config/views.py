"""The host project's own pages: the home page and the API docs."""
from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView


def home(request):
    """What `/` offers a person who lands here (from the admin's "View site", an email's footer): the way
    to the application and to the account pages."""
    return render(request, "home.html", {"docs_url": reverse("api-docs") if settings.API_DOCS_ENABLED else None})


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from drf-spectacular-sidecar's files; its bootstrap script comes from a URL of its own, so
    the page needs no inline script under the CSP. API_DOCS_ENABLED=false turns it off (404)."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        if not settings.API_DOCS_ENABLED:
            raise Http404
        return super().get(request, *args, **kwargs)
