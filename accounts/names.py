"""The display name (User.name): the one rule of what a name may hold, for every way one is set: the pages
and the API (accounts.forms), the admin, the model's validation and the flows (clean_display_name).

A name is one line of at most DISPLAY_NAME_MAX_LENGTH characters, NFC-normalised before it is checked and
stored, so that names that look the same are stored the same. Refused, wherever they are in it:

- control characters (Unicode category Cc: C0, DEL and C1, so tabs, \\n, \\r and U+0085 too);
- the other line and paragraph separators, U+2028 and U+2029;
- the bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), which make text
  display in an order other than the one it is stored in.

Other format characters stay allowed: the zero-width joiner and non-joiner (U+200D, U+200C) are part of how
some scripts (Persian, the Indic scripts) and emoji sequences are written.

A name is still text its owner chose: emails that may reach someone other than the owner never show it.
"""
import unicodedata

from authcore.inputs import (
    LINE_CODE,
    LINE_PATTERN,
    LINE_REFUSED_CHARACTERS,
    TEXT_RULES,
    TextField,
    refuse_control_characters,
)

DISPLAY_NAME_MAX_LENGTH = 150  # the column's length (User.name)

# A name is one line of text a person typed: the rule device names follow too (authcore.inputs), so clients
# handle one field code for both.
REFUSED_CHARACTERS = LINE_REFUSED_CHARACTERS
INVALID_CHARACTERS_CODE = LINE_CODE
DISPLAY_NAME_PATTERN = LINE_PATTERN

# What normalize_display_name strips from either end: the whitespace str.strip() strips, less the refused
# characters, which are refused wherever they are rather than silently dropped at the ends.
_SURROUNDING_SPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c not in REFUSED_CHARACTERS)


def normalize_display_name(value: str) -> str:
    """NFC, without surrounding spaces. Refused characters are kept, for the validator to refuse."""
    return unicodedata.normalize("NFC", value).strip(_SURROUNDING_SPACE)


def validate_display_name(value: str) -> None:
    """The model field's validator (a function of this module, so migrations keep naming it here)."""
    refuse_control_characters(value)


# For the model field (accounts.models.User.name).
NAME_VALIDATORS = [validate_display_name]


class NameField(TextField):
    """The name input of the pages, the API and the admin forms: normalised, then checked. Not stripped the
    way CharField strips (a line break at either end is refused, not dropped)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", DISPLAY_NAME_MAX_LENGTH)
        kwargs.setdefault("required", False)
        super().__init__(strip=False, **kwargs)
        self.validators.append(validate_display_name)

    def to_python(self, value):
        value = super().to_python(value)
        return normalize_display_name(value) if value else value

    def schema_constraints(self) -> dict:
        return {"pattern": DISPLAY_NAME_PATTERN, "description": (
            f"One line of at most {self.max_length} characters, counted after NFC normalisation (as it is "
            f"stored; a few characters, such as U+0958, become two). Refused (400 `{INVALID_CHARACTERS_CODE}`): "
            "control characters (line breaks and tabs included), U+2028, U+2029 and the bidirectional "
            "controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C). " + TEXT_RULES)}


def clean_display_name(value: str) -> str:
    """`value` as it is stored: normalised and checked by the same rule as every form's name field. Raises
    ValidationError with the field codes of the 400 (accounts.forms), e.g. `control_characters_not_allowed`,
    `max_length`, `null_characters_not_allowed`; an empty name is allowed."""
    return NameField().clean(value)
