import io

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import QueryDict
from rest_framework import renderers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from ..conf import app_settings
from ..errors import ServiceError


def read_bounded(stream, parser_context) -> bytes:
    """The body, never more than MAX_JSON_BODY_BYTES of it: a declared Content-Length over the limit is refused
    before reading, and the stream is never read past limit + 1 bytes whatever it declares."""
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
    return body


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
        body = read_bounded(stream, parser_context)
        try:
            return JSONParser().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            # A few KiB of "[[[[..." nest deeper than Python's recursion limit; json raises RecursionError,
            # which is not a ValueError, so without this it would surface as a 500.
            raise ParseError("JSON nested too deeply.") from None


class BoundedFormParser(BaseParser):
    """A form-encoded body (RFC 7662's introspection requests), under the same cap as JSON, for the few endpoints
    whose standard says so. Values are strings, as the JSON bodies' are; a repeated name is refused."""

    media_type = "application/x-www-form-urlencoded"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_bounded(stream, parser_context)
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            form = QueryDict(body, encoding=encoding)
        except (UnicodeDecodeError, LookupError):  # not in its charset, or a charset nobody knows
            raise ParseError("The form is not in a known charset, or not in the one it declares.") from None
        except TooManyFieldsSent:
            raise ParseError("The form has too many fields.") from None
        if any(len(values) > 1 for _, values in form.lists()):
            raise ParseError("A field is repeated.")  # RFC 6749 §3.2: which one would count?
        return form.dict()
