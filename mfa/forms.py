"""The inputs of managing second factors, for the pages and the API alike."""
from django.utils.translation import gettext_lazy as _

from accounts.forms import LinkTokenField, SecondFactorCodeField, security_key_field
from authcore.inputs import ChoiceInputField, InputForm, LabelField
from sessions_app.forms import SessionOptionsForm

KEY_KINDS = [("passkey", _("Passkey")), ("security_key", _("Security key"))]


class ConfirmTotpForm(InputForm):
    code = SecondFactorCodeField(label=_("Code from your authenticator app"), max_length=16,
                                 help_text=_("The 6 digits the app shows for this account now."))


class SecurityKeyOptionsForm(InputForm):
    kind = ChoiceInputField(choices=KEY_KINDS, required=False,
                            help_text=_("A passkey signs in without a password; a security key is a second factor "
                                        "only. Default: passkey."))


class AddSecurityKeyForm(SecurityKeyOptionsForm):
    credential = security_key_field(required=True)
    name = LabelField(max_length=64, required=False, label=_("Name"))


class RenameSecurityKeyForm(InputForm):
    name = LabelField(max_length=64, label=_("Name"))


class PasskeyLoginForm(SessionOptionsForm):
    credential = security_key_field(required=True)


class ResetPasskeyOptionsForm(InputForm):
    """A reset link's token (the page takes it from the session, the API from the body)."""

    token = LinkTokenField()


class ResetWithPasskeyForm(ResetPasskeyOptionsForm):
    """A reset link that adds a new passkey to an account without a password: the browser's answer to options from
    the reset's options, and, when the account still has second factors, one code of them."""

    credential = security_key_field(required=True)
    name = LabelField(max_length=64, required=False, label=_("Name"))
    code = SecondFactorCodeField(label=_("Code from your authenticator app"), required=False)
    recovery_code = SecondFactorCodeField(label=_("Recovery code"), required=False)
