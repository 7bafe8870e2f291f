"""Serializers every API shares: the error envelope, and the base of the request-body schemas."""
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


COMMON_ERRORS = ("parse_error", "invalid", "bad_request", "request_too_large", "unsupported_media_type",
                 "method_not_allowed", "not_acceptable", "server_error")


# --- request bodies ------------------------------------------------------------------------------------
# The base of the schema-only serializers generated from the flows' forms (authcore.api.inputs); their
# fields' `schema_constraints()` are laid over drf-spectacular's mapping (authcore.api.schema), after its
# own field mapping, whose non-blank `minLength: 1` would otherwise overwrite a field's real minimum.
# (A comment, not a docstring: drf-spectacular would publish a docstring as every request body's description.)
class RequestSerializer(serializers.Serializer):
    pass
