"""The inputs of managing second factors, for the pages and the API alike."""
from django.utils.translation import gettext_lazy as _

from accounts.forms import SecondFactorCodeField
from authcore.inputs import InputForm


class ConfirmTotpForm(InputForm):
    code = SecondFactorCodeField(label=_("Code from your authenticator app"), max_length=16,
                                 help_text=_("The 6 digits the app shows for this account now."))
