"""The OpenAPI description of a request body, generated from the flow's form (authcore.inputs), so the
schema and the server read their rules from the same fields. Only the schema uses these serializers; the
views validate with the forms themselves."""
from functools import cache

from django import forms
from rest_framework import serializers

from ..inputs import DocumentedInputField
from .serializers import RequestSerializer


class FormFieldSchema(DocumentedInputField, serializers.CharField):
    """Describes one form field: DRF's mapping gives the type and the length bounds; `schema_constraints`
    (laid over it by authcore.api.schema) gives the rest of what the form field enforces."""

    def __init__(self, form_field: forms.Field, **kwargs):
        self.form_field = form_field
        super().__init__(**kwargs)

    def schema_constraints(self) -> dict:
        if isinstance(self.form_field, DocumentedInputField):
            return self.form_field.schema_constraints()
        return super().schema_constraints()


class EmailFormFieldSchema(FormFieldSchema, serializers.EmailField):
    pass


class ObjectFieldSchema(DocumentedInputField, serializers.DictField):
    """A JSON object input (authcore.inputs.JSONObjectField)."""

    def __init__(self, form_field: forms.Field, **kwargs):
        self.form_field = form_field
        super().__init__(**kwargs)

    def schema_constraints(self) -> dict:
        return self.form_field.schema_constraints()


def _schema_field(form_field: forms.Field) -> serializers.Field:
    if getattr(form_field, "accepts_objects", False):
        return ObjectFieldSchema(form_field, required=form_field.required)
    options = {
        "required": form_field.required,
        "allow_blank": not form_field.required,
        "max_length": getattr(form_field, "max_length", None),
        "min_length": getattr(form_field, "min_length", None),
    }
    if isinstance(form_field.widget, forms.PasswordInput):
        options["style"] = {"input_type": "password"}
    field_class = EmailFormFieldSchema if isinstance(form_field, forms.EmailField) else FormFieldSchema
    return field_class(form_field, **options)


@cache
def request_serializer(form_class: type[forms.Form]) -> type[RequestSerializer]:
    """A serializer class with the form's fields, named after the form (so the schema component is too)."""
    fields = {name: _schema_field(field) for name, field in form_class.base_fields.items()}
    name = form_class.__name__.removesuffix("Form")  # drf-spectacular adds "Request" to the component name
    return type(name, (RequestSerializer,), {**fields, "__module__": form_class.__module__,
                                             "__doc__": None})
