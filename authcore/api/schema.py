"""OpenAPI (drf-spectacular): the rules of the input fields, laid over each request body's schema."""
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import force_instance

from ..inputs import DocumentedInputField


class RequestSerializerExtension(OpenApiSerializerExtension):
    """Lays each DocumentedInputField's `schema_constraints()` over drf-spectacular's mapping of the body."""

    target_class = "authcore.api.serializers.RequestSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction != "request":
            return schema
        properties = schema.get("properties", {})
        for name, field in force_instance(self.target).fields.items():
            if name in properties and isinstance(field, DocumentedInputField):
                properties[name] = with_constraints(properties[name], field.schema_constraints())
        return schema


def with_constraints(field_schema: dict, constraints: dict) -> dict:
    constraints = dict(constraints)
    rules = constraints.pop("description", "")
    description = " ".join(text for text in (field_schema.get("description", ""), rules) if text)
    return {**field_schema, **constraints, **({"description": description} if description else {})}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, with two corrections for clients generated from the schema:

    - An operation's description is only what its view says for it (extend_schema(description=...)). The
      default falls back to the docstring of the view's class, which for a shared base class (the
      signed-in endpoints' AuthAPIView) is a note for this code's readers, not for API users.
    - An endpoint that takes no credential has `security: []` (none), not `[{}]` (anonymous allowed), which
      generators read as "needs an authenticated client"."""

    def get_description(self) -> str:
        return ""

    def get_auth(self):
        if not self.view.get_authenticators():
            return []
        return super().get_auth()
