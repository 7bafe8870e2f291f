"""Serializers and fields every API shares: the error envelope and strict, self-documenting input fields."""
from django.utils.text import format_lazy
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from ..errors import ERROR_CODE_CHOICES, ERRORS, field_error_codes_text


# --- the error envelope -------------------------------------------------------------------------------
class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="The input field, or null for the whole body.")
    code = serializers.CharField(help_text=format_lazy("One of: {}", field_error_codes_text()))
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = FieldErrorSerializer(many=True, required=False, help_text="Only on 400 `invalid`.")

    def get_fields(self):
        # The codes are read when the schema is made, not when this module is imported: each app adds its
        # own codes as it loads.
        fields = super().get_fields()
        fields = {"detail": fields.pop("detail"), "code": serializers.ChoiceField(choices=ERROR_CODE_CHOICES), **fields}
        return fields


def error_responses(*codes: str) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the given error codes, grouped by HTTP status. A rate-limited endpoint can also
    answer 503 while the rate-limit cache is unreachable (authcore.ratelimit)."""
    if "rate_limited" in codes and "service_unavailable" not in codes:
        codes = (*codes, "service_unavailable")
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERRORS[code].status, []).append(code)
    return {
        status: OpenApiResponse(ErrorSerializer,
                                description="Error codes: " + ", ".join(f"`{c}`" for c in status_codes))
        for status, status_codes in by_status.items()
    }


COMMON_ERRORS = ("parse_error", "invalid", "request_too_large", "unsupported_media_type", "method_not_allowed",
                 "not_acceptable", "server_error")


# --- requests and responses ----------------------------------------------------------------------------
# Every DRF string field refuses NUL characters (PostgreSQL cannot store them) and unpaired UTF-16 surrogates
# such as "\ud800" (no UTF-8 encoding exists for them), with 400 `invalid`. The schema says so: a pattern for
# NUL and a sentence for surrogates, because JSON Schema regex engines cannot name surrogates (they are not
# Unicode scalar values; Rust-based validators refuse such a pattern outright).
NO_NUL_PATTERN = r"^[^\u0000]*$"
TEXT_RULES = "Must not contain NUL (U+0000) or an unpaired surrogate (U+D800 to U+DFFF)."


class DocumentedInputField:
    """A request field that states in the OpenAPI schema every rule it enforces, in `schema_constraints()`:
    JSON Schema keywords (and a `description` sentence) that authcore.api.schema lays over what
    drf-spectacular derives from the field. Computed at each schema generation from the objects that
    enforce the rules (settings, validators), so the schema follows a changed setting."""

    def schema_constraints(self) -> dict:
        return {"pattern": NO_NUL_PATTERN, "description": TEXT_RULES}


# A request body: its schema carries the `schema_constraints()` of its DocumentedInputFields. They are applied
# per serializer, after drf-spectacular's own field mapping, whose non-blank `minLength: 1` would otherwise
# overwrite a field's real minimum. (A comment, not a docstring: drf-spectacular would publish a docstring as
# the description of every request body.)
class RequestSerializer(serializers.Serializer):
    pass


class StrictCharField(DocumentedInputField, serializers.CharField):
    """A CharField that takes only JSON strings. DRF's CharField turns numbers into strings (123 -> "123"),
    so a wrongly typed credential would otherwise be processed as if the client had sent text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
