"""Browser forms. They check only the shape of the input; every account rule (password policy, taken
address, token validity) is enforced by the service the view calls, and its errors are shown here
next to the fields they concern."""
from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.exceptions import ValidationError
from django.utils.functional import lazy

from sessions_app.errors import ServiceError

_password_help = lazy(password_validators_help_text_html, str)


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


class RegisterForm(ServiceErrorsMixin, forms.Form):
    email = email_field()
    name = forms.CharField(label="Name (optional)", max_length=150, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password = new_password_field("Password")


class EmailForm(ServiceErrorsMixin, forms.Form):
    email = email_field()


class SetPasswordForm(ServiceErrorsMixin, forms.Form):
    new_password = new_password_field("New password")
