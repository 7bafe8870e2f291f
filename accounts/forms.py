"""The inputs of the account flows: one form per flow, used by its browser page and by its JSON endpoint
(authcore.inputs), so each field rule is written once. They check the shape of the input; every account
rule (password policy, taken address, token validity, rate limits) is enforced by the flow (accounts.flows),
and its errors are shown next to the fields they concern."""
from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.validators import RegexValidator
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from authcore.inputs import (
    ChoiceInputField,
    DocumentedInputField,
    InputForm,
    JSONObjectField,
    TextField,
    refuse_surrogates,
)
from sessions_app.forms import SessionOptionsForm

from .flows.login import MFA_TOKEN_MAX_LENGTH
from .flows.not_me import NOT_ME_TOKEN_MAX_LENGTH, NOT_ME_TOKEN_PATTERN
from .languages import language_choices
from .names import NameField
from .password_validation import MaximumLengthValidator, password_min_length
from .tokens import LINK_TOKEN_PATTERN, TOKEN_MAX_LENGTH

# Longest second-factor code looked at: a recovery code with separators and spaces (accounts.second_factor).
SECOND_FACTOR_CODE_MAX_LENGTH = 40
# A security key's answer, as JSON: its client data, authenticator data and signature are a few hundred bytes.
SECURITY_KEY_ANSWER_MAX_LENGTH = 16_384
# The field code of a proof given in none or several of its alternative fields (OneAnswerForm).
EXACTLY_ONE_REQUIRED = "exactly_one_required"

_password_help = lazy(password_validators_help_text_html, str)


class PasswordLengthCapMixin:
    """Every password input of the form is refused at once past ACCOUNTS PASSWORD_MAX_LENGTH (field error
    `password_too_long`). A field error keeps the value out of cleaned_data, so nothing after it validates
    or hashes the password: not the form's clean() (where Django's forms run the password validators or
    authenticate), not the flow the view calls.

    For our forms and for Django's (admin add-user, admin login), whose password fields Django declares.
    A validator, not `max_length`: that renders an HTML maxlength, and browsers silently cut a pasted
    password to it, so the user would save one password and hold another. The limit is read at validation
    time (override_settings works)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.PasswordInput):
                field.validators.insert(0, MaximumLengthValidator())


# --- fields ---------------------------------------------------------------------------------------------
# The addresses the schema promises to accept: an ASCII dot-atom local part and an ASCII host name with a
# letter TLD, each label 1 to 63 characters with no hyphen at either end or doubled (IDNA refuses "ab--c").
# Every such address passes Django's EmailValidator and has a canonical form (accounts.addresses). The server
# accepts some others too (quoted local parts, internationalised domains); the schema does not promise them.
EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_LABEL = r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,31}"
EMAIL_PATTERN = rf"^{EMAIL_ATOM}(?:\.{EMAIL_ATOM})*@(?:{EMAIL_LABEL}\.)+[A-Za-z]{{2,63}}$"


class EmailAddressField(DocumentedInputField, forms.EmailField):
    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.EmailInput(attrs={"autocomplete": "email"}))
        kwargs.setdefault("label", _("Email address"))
        super().__init__(max_length=254, **kwargs)
        self.validators.append(refuse_surrogates)

    def schema_constraints(self) -> dict:
        return {"pattern": EMAIL_PATTERN, "description": "Every address of this pattern is taken as an email "
                "address; so are some others (quoted local parts, internationalised domain names)."}


class PasswordField(TextField):
    """A password being presented (login, the current password of change-password): used exactly as typed
    (never trimmed), and capped (the form's PasswordLengthCapMixin) with a 400 rather than truncated, since
    login never runs the password validators and must not hash megabytes. Its only bound is the cap: an
    account may hold a password shorter than today's minimum (set before the minimum was raised, or by an
    operator), and must still be able to log in and change it."""

    def __init__(self, *, autocomplete: str = "current-password", **kwargs):
        kwargs.setdefault("widget", forms.PasswordInput(attrs={"autocomplete": autocomplete}))
        kwargs.setdefault("label", _("Password"))
        super().__init__(strip=False, **kwargs)

    def schema_constraints(self) -> dict:
        return {**super().schema_constraints(), "maxLength": MaximumLengthValidator().max_length}


class NewPasswordField(PasswordField):
    """A password being set (register, change, reset). The flows check it against the whole policy
    (settings.AUTH_PASSWORD_VALIDATORS), so that one answer names every rule it breaks; the schema states
    the policy's length bounds, read from the same validators."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _password_help())
        super().__init__(autocomplete="new-password", **kwargs)

    def schema_constraints(self) -> dict:
        constraints = super().schema_constraints()
        return {**constraints, "minLength": password_min_length(),
                "description": constraints["description"] + " Also refused (400 `invalid`): common passwords, "
                "and passwords too close to the email address, the name or the service name."}


class LinkTokenField(TextField):
    """The opaque token from an emailed link, exactly as it appears in the link. A string of another shape
    cannot be a token we sent: it is refused as a malformed field before any lookup, with the same pattern
    the schema declares."""

    def __init__(self, **kwargs):
        # Never shown on a page: the pages keep the token in the session (accounts.views).
        kwargs.setdefault("widget", forms.HiddenInput())
        super().__init__(max_length=TOKEN_MAX_LENGTH, **kwargs)
        self.validators.append(RegexValidator(
            LINK_TOKEN_PATTERN, message=_("Enter the token exactly as it appears in the link."), code="invalid"))

    def schema_constraints(self) -> dict:
        return {"pattern": LINK_TOKEN_PATTERN, "description": "The token from the emailed link. Another "
                "shape: 400 `invalid`; a well-formed token that is wrong, used or expired: 400 `invalid_token`."}


def name_field(**kwargs) -> NameField:
    """The display name (accounts.names: one line, NFC, no control or bidirectional characters)."""
    return NameField(label=_("Name (optional)"), widget=forms.TextInput(attrs={"autocomplete": "name"}), **kwargs)


# --- one input per flow -----------------------------------------------------------------------------------
class LoginForm(PasswordLengthCapMixin, SessionOptionsForm):
    email = EmailAddressField()
    password = PasswordField()

    field_order = ["email", "password", "transport", "device_name"]


class RegisterForm(PasswordLengthCapMixin, InputForm):
    email = EmailAddressField()
    name = name_field()
    password = NewPasswordField(label=_("Password"))


class EmailForm(InputForm):
    """Resend the verification email; request a password reset."""

    email = EmailAddressField()


class VerifyEmailForm(InputForm):
    token = LinkTokenField()


class PasswordResetConfirmForm(PasswordLengthCapMixin, InputForm):
    """The page takes the token from the session (the emailed link put it there) and shows only the new
    password; the API takes both from the body."""

    token = LinkTokenField()
    new_password = NewPasswordField(label=_("New password"))


class ChangePasswordForm(PasswordLengthCapMixin, InputForm):
    current_password = PasswordField(label=_("Current password"))
    new_password = NewPasswordField(label=_("New password"))


class SetPasswordForm(PasswordLengthCapMixin, InputForm):
    """ChangePasswordForm for an account without a password (passkeys only): it proved itself by a factor before."""

    new_password = NewPasswordField(label=_("New password"))


class ChangeEmailForm(PasswordLengthCapMixin, InputForm):
    password = PasswordField()
    new_email = EmailAddressField(label=_("New email address"))


class ConfirmEmailChangeForm(InputForm):
    token = LinkTokenField()


class DeleteAccountForm(PasswordLengthCapMixin, InputForm):
    password = PasswordField()


def without_password(form_class, user):
    """The API's form of a sensitive action, for `user`: an account without a password (passkeys only) has none to
    give, so its form has no password field (the flow asks for a reauthentication by a factor instead)."""
    if user.has_usable_password():
        return form_class
    return PASSWORDLESS_FORMS[form_class]


class ProfileForm(InputForm):
    name = name_field()
    # Choices read when the form is built (a callable), so they follow settings.LANGUAGES.
    language = ChoiceInputField(label=_("Language of your emails"), choices=language_choices, required=False)


class NotMeTokenField(TextField):
    """The signed token of a sign-in alert's "this wasn't me" link (accounts.flows.not_me), exactly as in the
    link; refused as malformed, before any signature is checked, unless it has the shape the schema declares."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.HiddenInput())  # the page keeps it in the session, never shows it
        super().__init__(max_length=NOT_ME_TOKEN_MAX_LENGTH, **kwargs)
        self.validators.append(RegexValidator(
            NOT_ME_TOKEN_PATTERN, message=_("Enter the token exactly as it appears in the link."), code="invalid"))

    def schema_constraints(self) -> dict:
        return {"pattern": NOT_ME_TOKEN_PATTERN, "description": "The token from the \"this wasn't me\" link. "
                "Another shape: 400 `invalid`; a well-formed token that is forged, used or expired: 400 "
                "`invalid_token`."}


class NotMeForm(InputForm):
    token = NotMeTokenField()


# --- the account pages' own inputs (accounts/account_views.py) ---------------------------------------------
# The pages call the same flows; what differs is only what they ask: no session options (a browser sign-in is
# always the "browser" transport), and no password on the address and deletion pages, whose browser proved
# itself recently (sessions_app/browser.py); the password page uses the API's ChangePasswordForm.
class SignInForm(PasswordLengthCapMixin, InputForm):
    # "webauthn": the browser may offer the passkeys it has for this site in the address field's autofill.
    email = EmailAddressField(widget=forms.EmailInput(attrs={"autocomplete": "username webauthn"}))
    password = PasswordField()


class SecondFactorCodeField(TextField):
    """A code of a second factor: an authenticator app's 6 digits or a recovery code (XXXX-XXXX-XXXX-XXXX),
    capped before anything looks at it."""

    def __init__(self, *, max_length: int = SECOND_FACTOR_CODE_MAX_LENGTH, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off",
                                                            "spellcheck": "false"}))
        super().__init__(max_length=max_length, **kwargs)


class OneAnswerForm(InputForm):
    """A proof given in one of several alternative fields (`answer_fields`): exactly one of them, not empty, else a
    form error with the code `exactly_one_required` (a schema cannot say "one of", so the API documents it)."""

    answer_fields: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        if not self.errors and sum(bool(cleaned.get(name)) for name in self.answer_fields) != 1:
            fields = ", ".join(self.answer_fields)
            raise forms.ValidationError(_("Give exactly one of: %(fields)s.") % {"fields": fields},
                                        code=EXACTLY_ONE_REQUIRED)
        return cleaned


def security_key_field(*, required: bool = False) -> JSONObjectField:
    """A security key's answer: the PublicKeyCredential as JSON (`toJSON()` in browsers)."""
    return JSONObjectField(max_length=SECURITY_KEY_ANSWER_MAX_LENGTH, required=required, label=_("Security key"))


class ReauthenticateForm(PasswordLengthCapMixin, OneAnswerForm):
    """The API's proof: the password, or for an account with a second factor, an answer of it instead."""

    password = PasswordField(required=False)
    code = SecondFactorCodeField(label=_("Code from your authenticator app"), required=False)
    recovery_code = SecondFactorCodeField(label=_("Recovery code"), required=False)
    webauthn = security_key_field()

    answer_fields = ("password", "code", "recovery_code", "webauthn")


class ConfirmPasswordForm(PasswordLengthCapMixin, InputForm):
    """The page's proof for an account without a second factor: the password."""

    password = PasswordField()


class PageReauthenticateForm(PasswordLengthCapMixin, OneAnswerForm):
    """The page's proof for an account with a second factor: the password, or one code (an app's or a recovery
    code), or a security key's answer (put in by the page's script)."""

    password = PasswordField(required=False)
    code = SecondFactorCodeField(label=_("Or a code from your authenticator app, or a recovery code"),
                                 required=False)
    webauthn = security_key_field()

    answer_fields = ("password", "code", "webauthn")


class LoginSecondStepForm(OneAnswerForm):
    """The second step of a login through the API: the `mfa_token` from 401 `mfa_required` and one answer."""

    mfa_token = TextField(max_length=MFA_TOKEN_MAX_LENGTH)
    code = SecondFactorCodeField(label=_("Code from your authenticator app"), required=False)
    recovery_code = SecondFactorCodeField(label=_("Recovery code"), required=False)
    webauthn = security_key_field()

    answer_fields = ("code", "recovery_code", "webauthn")


class SecondStepTokenForm(InputForm):
    """The `mfa_token` of a waiting second step (security-key options for it)."""

    mfa_token = TextField(max_length=MFA_TOKEN_MAX_LENGTH)


class SecondStepForm(OneAnswerForm):
    """The second step of signing in on the page (and the confirmation that asks for a factor): one code, an
    app's or a recovery code, or a security key's answer (put in by the page's script)."""

    code = SecondFactorCodeField(label=_("Your code"), required=False,
                                 help_text=_("The 6-digit code your authenticator app shows now, or one of your "
                                             "recovery codes."))
    webauthn = security_key_field()

    answer_fields = ("code", "webauthn")


class NewEmailForm(InputForm):
    new_email = EmailAddressField(label=_("New email address"))


class NoInputForm(InputForm):
    """Nothing to give (deleting an account without a password: the proof was a reauthentication by a factor)."""


PASSWORDLESS_FORMS = {ChangePasswordForm: SetPasswordForm, ChangeEmailForm: NewEmailForm,
                      DeleteAccountForm: NoInputForm}


class DeleteAccountConfirmationForm(InputForm):
    confirm = forms.BooleanField(
        label=_("I understand that my account, its sessions and its connections will be deleted, and that this "
                "cannot be undone."))
