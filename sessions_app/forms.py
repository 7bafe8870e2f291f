"""The inputs of the session flows (authcore.inputs)."""
from authcore.inputs import InputForm, TextField

from .tokens import REFRESH_TOKEN_MAX_LENGTH


class RefreshForm(InputForm):
    """Refresh; log out. The token exactly as issued: never trimmed."""

    refresh = TextField(max_length=REFRESH_TOKEN_MAX_LENGTH, strip=False)
