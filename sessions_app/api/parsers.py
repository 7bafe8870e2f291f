import io

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from ..conf import app_settings
from ..errors import ServiceError


class BoundedJSONParser(JSONParser):
    """JSON only, and never more than MAX_JSON_BODY_BYTES read into memory.

    DRF reads the body stream directly, bypassing DATA_UPLOAD_MAX_MEMORY_SIZE, so the cap is here; it also
    holds for chunked bodies without a Content-Length."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = app_settings.MAX_JSON_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            if declared and int(declared) > limit:
                raise ServiceError("request_too_large")
        except ValueError:
            raise ParseError("Invalid Content-Length.")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise ServiceError("request_too_large")
        return super().parse(io.BytesIO(body), media_type, parser_context)
