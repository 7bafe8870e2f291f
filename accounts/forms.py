"""Browser forms. They check only the shape of the input; every account rule (password policy, taken
address, token validity) is enforced by the service the view calls, and its errors are shown here
next to the fields they concern."""
from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.exceptions import ValidationError
from django.utils.functional import lazy

from authcore.errors import ServiceError

from .password_validation import MaximumLengthValidator

_password_help = lazy(password_validators_help_text_html, str)


class PasswordLengthCapMixin:
    """Every password input of the form is refused at once past ACCOUNTS PASSWORD_MAX_LENGTH (field error
    `password_too_long`), as the API's PasswordField does. A field error keeps the value out of
    cleaned_data, so nothing after it validates or hashes the password: not the form's clean() (where
    Django's forms run the password validators or authenticate), not the service the view calls.

    For our forms and for Django's (admin add-user, admin login), whose password fields Django declares.
    A validator, not `max_length`: that renders an HTML maxlength, and browsers silently cut a pasted
    password to it, so the user would save one password and hold another. The limit is read at validation
    time (override_settings works)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.PasswordInput):
                field.validators.insert(0, MaximumLengthValidator())


class ServiceErrorsMixin:
    def add_service_error(self, error: ServiceError) -> None:
        """Put a ServiceError's field errors next to their fields (the rest above the form)."""
        for item in error.field_errors or [{"field": None, "code": error.code, "message": error.message}]:
            field = item["field"] if item["field"] in self.fields else None
            self.add_error(field, ValidationError(item["message"], code=item["code"]))


def email_field(**kwargs) -> forms.EmailField:
    return forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}), **kwargs)


def new_password_field(label: str) -> forms.CharField:
    # strip=False: passwords are used exactly as typed (SECURITY 5).
    return forms.CharField(label=label, strip=False, help_text=_password_help(),
                           widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class RegisterForm(PasswordLengthCapMixin, ServiceErrorsMixin, forms.Form):
    email = email_field()
    name = forms.CharField(label="Name (optional)", max_length=150, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password = new_password_field("Password")


class EmailForm(ServiceErrorsMixin, forms.Form):
    email = email_field()


class SetPasswordForm(PasswordLengthCapMixin, ServiceErrorsMixin, forms.Form):
    new_password = new_password_field("New password")
