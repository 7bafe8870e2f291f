"""The inputs of the session flows (authcore.inputs)."""
from authcore.inputs import ChoiceInputField, InputForm, LabelField, TextField

from .introspection import TOKEN_MAX_LENGTH
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


class IntrospectForm(InputForm):
    """RFC 7662 §2.1 (form-encoded, or JSON): the token, a hint, and the resource server's credentials when it does
    not send them as HTTP Basic."""

    # Capped by the body's own cap only: a token too long to be ours is `active: false` (RFC 7662), not a 400.
    token = TextField(max_length=64 * 1024, strip=False,
                      help_text=f"The access token to ask about (over {TOKEN_MAX_LENGTH} characters: not active).")
    token_type_hint = TextField(max_length=64, required=False,
                                help_text="Ignored (RFC 7662 §2.1): only access tokens are answered about; a refresh "
                                "token is never active here (resource servers never see one).")
    client_id = TextField(max_length=64, required=False, help_text="Or in the Authorization header (HTTP Basic).")
    client_secret = TextField(max_length=128, strip=False, required=False)
