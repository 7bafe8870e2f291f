from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from rest_framework import serializers

from authcore.api.serializers import DocumentedInputField, RequestSerializer, StrictCharField
from sessions_app.api.serializers import TokenPairSerializer

from ..password_validation import MaximumLengthValidator, password_min_length
from ..tokens import LINK_TOKEN_PATTERN, TOKEN_MAX_LENGTH


class PasswordField(StrictCharField):
    """Passwords are used exactly as typed: never trimmed (DRF trims by default), and capped at the
    documented maximum with a 400 rather than truncated. The cap is checked here too, not only by the
    password validators, because login never runs those and must not hash megabytes.

    This field is for a password being presented (login, the current password of change-password), so its
    only bound is the cap: an account may hold a password shorter than today's minimum (set before the
    minimum was raised, or by an operator), and must still be able to log in and change it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("style", {"input_type": "password"})
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            MaximumLengthValidator().validate(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages, code=error.code) from None
        return value

    def schema_constraints(self) -> dict:
        return {**super().schema_constraints(), "maxLength": MaximumLengthValidator().max_length}


class NewPasswordField(PasswordField):
    """A password being set (register, change, reset). The services check it against the whole policy
    (settings.AUTH_PASSWORD_VALIDATORS), so that one answer names every rule it breaks; the schema states the
    policy's length bounds, read from the same validators."""

    def schema_constraints(self) -> dict:
        constraints = super().schema_constraints()
        return {**constraints, "minLength": password_min_length(),
                "description": constraints["description"] + " Also refused (400 `invalid`): common passwords, "
                "and passwords too close to the email address, the name or the service name."}


# The addresses the schema promises to accept: an ASCII dot-atom local part and an ASCII host name with a
# letter TLD, each label 1 to 63 characters with no hyphen at either end or doubled (IDNA refuses "ab--c").
# Every such address passes Django's EmailValidator and has a canonical form (accounts.addresses). The server
# accepts some others too (quoted local parts, internationalised domains); the schema does not promise them.
EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_LABEL = r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,31}"
EMAIL_PATTERN = rf"^{EMAIL_ATOM}(?:\.{EMAIL_ATOM})*@(?:{EMAIL_LABEL}\.)+[A-Za-z]{{2,63}}$"


class EmailInputField(DocumentedInputField, serializers.EmailField):
    def __init__(self, **kwargs):
        super().__init__(max_length=254, **kwargs)

    def schema_constraints(self) -> dict:
        return {"pattern": EMAIL_PATTERN, "description": "Every address of this pattern is taken as an email "
                "address; so are some others (quoted local parts, internationalised domain names)."}


class LoginRequestSerializer(RequestSerializer):
    email = EmailInputField()
    password = PasswordField()


class UserSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(read_only=True)
    email_verified = serializers.BooleanField(read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)


class LoginResponseSerializer(TokenPairSerializer):
    session_id = serializers.UUIDField()
    user = UserSerializer()


class ProfileUpdateSerializer(RequestSerializer):
    name = StrictCharField(max_length=150, allow_blank=True)


class ChangePasswordRequestSerializer(RequestSerializer):
    current_password = PasswordField()
    new_password = NewPasswordField()


class ChangePasswordResponseSerializer(TokenPairSerializer):
    session_id = serializers.UUIDField(help_text="The new session the pair belongs to; every earlier one ended.")


# --- account lifecycle ---------------------------------------------------------------------------------
class LinkTokenField(StrictCharField):
    """The opaque token from an emailed link, exactly as it appears in the link. A string of another shape
    cannot be a token we sent: it is refused as a malformed field before any lookup, with the same pattern
    the schema declares."""

    def __init__(self, **kwargs):
        super().__init__(max_length=TOKEN_MAX_LENGTH, **kwargs)
        self.validators.append(RegexValidator(
            LINK_TOKEN_PATTERN, message="Enter the token exactly as it appears in the link.", code="invalid"))

    def schema_constraints(self) -> dict:
        return {"pattern": LINK_TOKEN_PATTERN, "description": "The token from the emailed link. Another "
                "shape: 400 `invalid`; a well-formed token that is wrong, used or expired: 400 `invalid_token`."}


class RegisterRequestSerializer(RequestSerializer):
    email = EmailInputField()
    password = NewPasswordField()
    name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")


class EmailRequestSerializer(RequestSerializer):
    email = EmailInputField()


class VerifyEmailRequestSerializer(RequestSerializer):
    token = LinkTokenField()


class PasswordResetConfirmRequestSerializer(RequestSerializer):
    token = LinkTokenField()
    new_password = NewPasswordField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
