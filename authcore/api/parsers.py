import io

from rest_framework import renderers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from ..conf import app_settings
from ..errors import ServiceError


class BoundedJSONParser(BaseParser):
    """JSON only, and never more than MAX_JSON_BODY_BYTES read into memory.

    Deliberately not a JSONParser subclass: for those, DRF (3.16+) first reads the whole body through
    `request.body` (up to DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB, and a RequestDataTooBig error past it) before
    the parser sees a byte. A plain parser gets the request stream itself, so the cap is applied here: a
    declared Content-Length over the limit is refused before reading, and the stream is never read past
    limit + 1 bytes whatever it declares. (A body without a Content-Length, e.g. chunked, is not read at
    all: Django's WSGIRequest exposes 0 bytes of it and DRF then sees no body.) Decoding and JSON rules
    (text charsets only, no NaN/Infinity) are DRF's JSONParser's, applied to the bounded bytes."""

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        limit = app_settings.MAX_JSON_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            if declared and int(declared) > limit:
                raise ServiceError("request_too_large")
        except ValueError:
            raise ParseError("Invalid Content-Length.") from None
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise ServiceError("request_too_large")
        try:
            return JSONParser().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            # A few KiB of "[[[[..." nest deeper than Python's recursion limit; json raises RecursionError,
            # which is not a ValueError, so without this it would surface as a 500.
            raise ParseError("JSON nested too deeply.") from None
