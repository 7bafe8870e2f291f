"""The inputs of connected accounts: the provider's redirect, as the callback page and the API receive it."""
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from authcore.inputs import InputForm, TextField

# What providers put in these parameters: printable ASCII (RFC 6749 appendix A: VSCHAR and NQSCHAR).
PRINTABLE_ASCII = r"^[\x20-\x7e]*$"


class ProviderValueField(TextField):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(RegexValidator(PRINTABLE_ASCII, message=_("Only printable ASCII is allowed."),
                                              code="invalid"))

    def schema_constraints(self) -> dict:
        return {"pattern": PRINTABLE_ASCII, "description": "Exactly as the provider sent it (printable ASCII)."}


class ProviderRedirectForm(InputForm):
    """The query of the provider's redirect back to us: `state` with `code`, or `state` with `error`. (Neither
    `code` nor `error` is the service's `connection_failed`: a schema cannot say "one of the two".)"""

    state = ProviderValueField(max_length=200)
    code = ProviderValueField(max_length=2048, required=False)
    error = ProviderValueField(max_length=200, required=False)

