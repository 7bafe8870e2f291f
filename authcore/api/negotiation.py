"""Content negotiation for JSON-only endpoints: DRF's, answered at once for what nearly every request asks."""
from rest_framework.negotiation import DefaultContentNegotiation

# Accept values that choose the first renderer whatever else is on offer (a client that sends none takes
# anything; an empty one, DRF refuses). Everything else (a list, parameters, another type, a ?format=) goes
# through DRF's negotiation.
_TAKES_THE_FIRST = {"*/*", "application/json"}


class JSONFirstNegotiation(DefaultContentNegotiation):
    """DRF parses the Accept header into media types and matches them against every renderer on every request,
    about a twentieth of an authenticated GET's time in process. When the first renderer is JSON and the client
    asks for JSON or anything, with no query string that could name a format, the answer is known: the first
    renderer and its media type, as DRF would choose (test_negotiation holds the two to the same answer)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        meta = request._request.META if hasattr(request, "_request") else request.META
        if (format_suffix is None and renderers and renderers[0].media_type == "application/json"
                and meta.get("HTTP_ACCEPT", "*/*") in _TAKES_THE_FIRST and not meta.get("QUERY_STRING")):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
