"""The inputs of the session flows (authcore.inputs)."""
from authcore.inputs import ChoiceInputField, InputForm, LabelField, TextField

from .models import DEVICE_NAME_MAX_LENGTH, Session
from .tokens import REFRESH_TOKEN_MAX_LENGTH


class RefreshForm(InputForm):
    """Refresh; log out. The token exactly as issued: never trimmed. Optional in the body: a cookie-mode
    session's token comes in its cookie (sessions_app/api/transport.py); with neither, the edge reports
    this field as required."""

    refresh = TextField(max_length=REFRESH_TOKEN_MAX_LENGTH, strip=False, required=False,
                        help_text="The refresh token (body transport). Leave it out for a cookie-mode session.")


class SessionOptionsForm(InputForm):
    """What a client may choose about the session a login opens (the login forms include these fields)."""

    transport = ChoiceInputField(
        # Not "browser": that is how the account pages sign in (sessions_app/browser.py), never an API client.
        choices=[(Session.Transport.BODY, Session.Transport.BODY.label),
                 (Session.Transport.COOKIE, Session.Transport.COOKIE.label)], required=False,
        help_text="Where the refresh token travels: `body` (default; in the JSON bodies) or `cookie` (only in "
                  "an HttpOnly cookie; refresh and logout then need the X-CSRFToken header).")
    device_name = LabelField(max_length=DEVICE_NAME_MAX_LENGTH, required=False,
                             help_text="A name for this device chosen by the client, e.g. \"Alice's iPhone\".")
