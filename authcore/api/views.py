"""The base of every JSON endpoint: JSON in and out with a bounded parser, one error envelope, and
`Cache-Control: no-store` (tokens and account data must never be cached)."""
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from ..inputs import json_input
from .errors import api_exception_handler
from .negotiation import JSONFirstNegotiation
from .parsers import BoundedJSONParser


class JSONAPIView(APIView):
    """Authentication and permissions are DRF's defaults (settings.REST_FRAMEWORK) unless a subclass says."""

    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONFirstNegotiation
    throttle_classes: list = []

    def get_exception_handler(self):
        return api_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response

    def validated(self, form_class, *, partial: bool = False) -> dict:
        """The body, validated with the flow's form (the same one its browser page uses)."""
        return json_input(form_class, self.request.data, partial=partial)


class PublicJSONAPIView(JSONAPIView):
    """Endpoints that take their credential in the body (a refresh token, a password) and need no Bearer."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
