from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from sessions_app.api.serializers import StrictCharField, TokenPairSerializer

from ..password_validation import MaximumLengthValidator
from ..tokens import TOKEN_MAX_LENGTH


class PasswordField(StrictCharField):
    """Passwords are used exactly as typed: never trimmed (DRF trims by default), and capped at the
    documented maximum with a 400 rather than truncated. The cap is checked here too, not only by the
    password validators, because login never runs those and must not hash megabytes."""

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


class EmailInputField(serializers.EmailField):
    def __init__(self, **kwargs):
        super().__init__(max_length=254, **kwargs)


class LoginRequestSerializer(serializers.Serializer):
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


class ProfileUpdateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=150, allow_blank=True)


class ChangePasswordRequestSerializer(serializers.Serializer):
    current_password = PasswordField()
    new_password = PasswordField()


# --- account lifecycle ---------------------------------------------------------------------------------
class LinkTokenField(StrictCharField):
    """The opaque token from an emailed link, exactly as it appears in the link."""

    def __init__(self, **kwargs):
        super().__init__(max_length=TOKEN_MAX_LENGTH, **kwargs)


class RegisterRequestSerializer(serializers.Serializer):
    email = EmailInputField()
    password = PasswordField()
    name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")


class EmailRequestSerializer(serializers.Serializer):
    email = EmailInputField()


class VerifyEmailRequestSerializer(serializers.Serializer):
    token = LinkTokenField()


class PasswordResetConfirmRequestSerializer(serializers.Serializer):
    token = LinkTokenField()
    new_password = PasswordField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
