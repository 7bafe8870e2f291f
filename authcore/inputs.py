"""Inputs: one Django form per flow states what the flow accepts, and both the browser page and the JSON
endpoint validate with it, so a field rule (a length cap, the email syntax, a token's shape) is written
once. The page renders the form and its errors; the API takes a JSON object (`json_input`), refuses
values that are not strings, and turns the form's errors into the 400 envelope. The OpenAPI schema of a
request body is generated from the same form (authcore.api.inputs).
"""
from collections.abc import Mapping
import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .errors import ServiceError

# Every text input refuses NUL (PostgreSQL cannot store it; Django's CharField refuses it) and unpaired
# UTF-16 surrogates such as "\ud800" (no UTF-8 encoding exists for them; JSON can carry them). The schema
# says so: a pattern for NUL and a sentence for surrogates, because JSON Schema regex engines cannot name
# surrogates (they are not Unicode scalar values; Rust-based validators refuse such a pattern outright).
NO_NUL_PATTERN = r"^[^\u0000]*$"
TEXT_RULES = "Must not contain NUL (U+0000) or an unpaired surrogate (U+D800 to U+DFFF)."


def refuse_surrogates(value: str) -> None:
    if any("\ud800" <= character <= "\udfff" for character in value):
        raise ValidationError(_("Surrogate characters are not allowed."), code="surrogate_characters_not_allowed")


class DocumentedInputField:
    """A form field that states in the OpenAPI schema every rule it enforces, in `schema_constraints()`:
    JSON Schema keywords (and a `description` sentence), computed when the schema is generated from the
    objects that enforce the rules (settings, validators), so the schema follows a changed setting."""

    def schema_constraints(self) -> dict:
        return {"pattern": NO_NUL_PATTERN, "description": TEXT_RULES}


class TextField(DocumentedInputField, forms.CharField):
    """A text input: NUL and unpaired surrogates refused."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(refuse_surrogates)


# Characters that have no place in a line of text a person typed (a device name, a display name): the
# control characters (Unicode category Cc: C0, DEL and C1, so tabs and line breaks, U+0085 included), the
# other line and paragraph separators (U+2028, U+2029), and the invisible bidirectional controls that can make
# a name display as something else. Other format characters stay: the zero-width (non-)joiners are part of
# how some scripts and emoji sequences are written.
CONTROL_CHARACTERS = frozenset(map(chr, [*range(0x00, 0x20), *range(0x7F, 0xA0)]))
LINE_SEPARATORS = frozenset("\u2028\u2029")
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_REFUSED_CHARACTERS = CONTROL_CHARACTERS | LINE_SEPARATORS | BIDI_CONTROLS
LINE_CODE = "control_characters_not_allowed"
LINE_RULES = ("One line: no control characters (line breaks and tabs included), no U+2028 or U+2029, no "
              "bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C).")


def _character_class(characters) -> str:
    """A regex class body of `characters`, contiguous runs as ranges ("\\u0000-\\u001f")."""
    runs: list[list[int]] = []
    for point in sorted(map(ord, characters)):
        if runs and point == runs[-1][1] + 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return "".join(f"\\u{first:04x}" + (f"-\\u{last:04x}" if last > first else "") for first, last in runs)


# For the schema; NUL is a control character, so the pattern says what TEXT_RULES says of it too.
LINE_PATTERN = f"^[^{_character_class(LINE_REFUSED_CHARACTERS)}]*$"


def refuse_control_characters(value: str) -> None:
    """The one-line rule above. NUL is left to the check every text input makes, which answers with its own
    code (`null_characters_not_allowed`)."""
    if any(character in LINE_REFUSED_CHARACTERS and character != "\x00" for character in value):
        raise ValidationError(_("Enter one line, without control characters or bidirectional formatting "
                                "characters."), code=LINE_CODE)


class LabelField(TextField):
    """A short single-line label chosen by a person (a device name): the one-line rule too."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(refuse_control_characters)

    def schema_constraints(self) -> dict:
        return {"pattern": LINE_PATTERN, "description": f"{LINE_RULES} {TEXT_RULES}"}


class ChoiceInputField(DocumentedInputField, forms.ChoiceField):
    """One of a fixed set of strings; the schema lists them."""

    def schema_constraints(self) -> dict:
        values = [value for value, _ in self.choices]
        return {"enum": values, "description": f"One of: {', '.join(values)}."}


class JSONObjectField(DocumentedInputField, forms.Field):
    """A JSON object (a WebAuthn credential, say) as the field's value: a dict in a JSON body, or the same object
    as JSON text in a form post (a page's script puts it in a hidden input). Its size is capped before it is
    parsed (`max_length`, of its JSON text); anything but an object is `invalid`."""

    accepts_objects = True  # json_input lets a dict through for this field

    def __init__(self, *, max_length: int, **kwargs):
        self.max_length = max_length
        kwargs.setdefault("widget", forms.HiddenInput())
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, dict) and not value:  # an empty object is no answer (the schema's minProperties: 1)
            raise ValidationError(_("Not a JSON object."), code="invalid")
        if value in self.empty_values:
            return None
        if isinstance(value, str):
            if len(value) > self.max_length:
                raise ValidationError(_("The value is too large."), code="max_length")
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
                raise ValidationError(_("Not a JSON object."), code="invalid") from None
        if not isinstance(value, dict) or len(json.dumps(value)) > self.max_length:
            raise ValidationError(_("Not a JSON object."), code="invalid")
        return value

    def schema_constraints(self) -> dict:
        return {"type": "object", "minProperties": 1,
                "description": f"A JSON object, at most {self.max_length} characters as JSON."}


class InputForm(forms.Form):
    """The input of one flow. `add_service_error` shows a flow's own field errors (a taken address, a
    password the policy refuses) next to the fields they concern on a page."""

    def add_service_error(self, error: ServiceError) -> None:
        for item in error.field_errors or [{"field": None, "code": error.code, "message": error.message}]:
            field = item["field"] if item["field"] in self.fields else None
            self.add_error(field, ValidationError(item["message"], code=item["code"]))


def form_errors(form: forms.Form) -> list[dict]:
    """A bound, invalid form's errors as the envelope's [{"field", "code", "message"}] (field None for the
    whole input)."""
    return [
        {"field": None if field == forms.forms.NON_FIELD_ERRORS else field, "code": error.code or "invalid",
         "message": message}
        for field, errors in form.errors.as_data().items()
        for error in errors
        for message in error.messages
    ]


def json_input(form_class: type[forms.Form], data, *, partial: bool = False) -> dict:
    """Validate a parsed JSON body with a flow's form: the cleaned values, or ServiceError("invalid").

    JSON can carry what a form post cannot (numbers, null, lists): a field given anything but a string is
    refused as `invalid`, never turned into text (123 would become "123"), so a wrongly typed credential is
    not processed as if the client had sent text. With `partial` (PATCH), fields left out are not in the
    result, so they keep their stored value."""
    if not isinstance(data, Mapping):
        raise ServiceError("invalid", field_errors=[
            {"field": None, "code": "not_a_dict", "message": _("Send the fields as a JSON object.")}])
    not_text = [
        {"field": name, "code": "invalid", "message": _("Not a valid string.")}
        for name, field in form_class.base_fields.items()
        if name in data and not isinstance(data[name], str)
        and not (getattr(field, "accepts_objects", False) and isinstance(data[name], Mapping))
    ]
    if not_text:
        raise ServiceError("invalid", field_errors=not_text)
    form = form_class(data={name: data[name] for name in form_class.base_fields if name in data})
    if partial:
        for name, field in form.fields.items():
            field.required = field.required and name in data
    if not form.is_valid():
        raise ServiceError("invalid", field_errors=form_errors(form))
    return {name: value for name, value in form.cleaned_data.items() if not partial or name in data}
