"""Server-rendered pages (every view but the API's) answer a refused request with a page of the error's own
status: a spent rate limit is a 429 with Retry-After, the limiter's cache unreachable a 503 with Retry-After,
an invalid link a 400, ... never a 500 with a traceback.

One middleware rather than a decorator on each view: it covers every page, the admin's (its login, its
actions calling the services) and pages added later, with nothing for a view to forget. A view that has a
better answer for an error (a form showing it next to its field, the connect callback's own page) catches
it first. The API answers the same errors in its envelope, in its exception handler (authcore.api.errors):
what a DRF view raises is left to DRF, wherever the host project mounts it.
"""
from http import HTTPStatus

from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers
from django.utils.log import log_response
from django.utils.translation import gettext_lazy as _
from rest_framework.views import APIView

from .errors import ServiceError

TEMPLATE = "authcore/service_error.html"
# The two "not now" answers keep their own headings; any other error is headed by its status.
TITLES = {"rate_limited": _("Too many attempts"), "service_unavailable": _("Temporarily unavailable")}
# The other statuses a service error can have, headed by their HTTP phrase in the reader's language (HTTPStatus's
# phrases are English only).
STATUS_TITLES = {400: _("Bad Request"), 401: _("Unauthorized"), 403: _("Forbidden"), 404: _("Not Found"),
                 405: _("Method Not Allowed"), 406: _("Not Acceptable"), 409: _("Conflict"),
                 413: _("Request Entity Too Large"), 415: _("Unsupported Media Type")}


class ServiceErrorPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        # The API answers in its own envelope; a 500 is a fault, left to Django's handling (and its ERROR log).
        if (not isinstance(exception, ServiceError) or (exception.status >= 500 and exception.status != 503)
                or is_api_view(request)):
            return None
        return service_error_page(request, exception)


def is_api_view(request) -> bool:
    """Whether the request's view is a DRF one (an APIView's, a viewset's or an @api_view function's)."""
    match = request.resolver_match
    if match is None:  # not routed by Django's handler (a RequestFactory request): resolve it as it would be
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return False
    view_class = getattr(match.func, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


def service_error_page(request, error: ServiceError):
    title = TITLES.get(error.code) or STATUS_TITLES.get(error.status) or HTTPStatus(error.status).phrase
    response = render(request, TEMPLATE, {"code": error.code, "title": title, "message": error.message,
                                          "retry_after": error.retry_after}, status=error.status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    add_never_cache_headers(response)
    # The URL may carry a credential (an emailed link's token, a provider's authorization code), and the
    # page has no form whose POST would need a Referer.
    response["Referrer-Policy"] = "no-referrer"
    # An expected answer, not a fault: django.request would log a 503 at ERROR. The outage behind one is
    # logged where it is met (authcore.ratelimit).
    log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request,
                 level="warning")
    return response
