from django.core.exceptions import ValidationError

from .conf import app_settings


class MaximumLengthValidator:
    """A documented hard cap (default 1024 characters) instead of silent truncation: longer passwords are
    refused with a clear error, and nothing pathological reaches the hasher."""

    def __init__(self, max_length: int | None = None) -> None:
        self._max_length = max_length

    @property
    def max_length(self) -> int:
        return self._max_length or app_settings.PASSWORD_MAX_LENGTH

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                "This password is too long. It must contain at most %(max_length)d characters.",
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self) -> str:
        return f"Your password must contain at most {self.max_length} characters."
