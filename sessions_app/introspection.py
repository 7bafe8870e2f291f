"""Token introspection (RFC 7662): a resource server asks whether an access token is active now.

A signature check with the JWKS tells a resource server that the service issued a token and that it has not
expired; only the service knows whether its session is still alive (the user logged out, an operator ended it, a
refresh token was replayed). Introspection answers that, at once: `active` is false for a token whose session has
ended, whose user is inactive, or that is no access token of this service at all.

Who may ask: the resource servers in SESSIONS_APP["INTROSPECTION_CLIENTS"], {client id: the SHA-256 of its secret,
as "sha256:<hex>"} (`manage.py make_introspection_client` makes an entry). A secret is 256 random bits, so a plain
hash is enough to keep the settings useless to whoever reads them, and the comparison is in constant time.

Audit: a resource server that fails to authenticate, and an answer that a token of an ended session is not active
(someone is using a token that no longer works) are security events. Other answers are not: an active one because a
resource server may ask on every request, and one about garbage or an expired token because anyone who can reach a
resource server can make it ask (the requests are bounded by the `introspect_client` rate limit instead).
"""
import hashlib
import hmac
import secrets

from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from authcore.audit import record_security_event
from authcore.errors import ServiceError
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo

from . import events, limits
from .conf import app_settings
from .selectors import user_for_live_session
from .tokens import SessionAccessToken

SECRET_PREFIX = "sha256:"
TOKEN_MAX_LENGTH = 4096  # an access token is well under 1 KB; anything longer is no token of ours
INACTIVE = {"active": False}
UNMATCHABLE = SECRET_PREFIX + "0" * 64  # the length of a real entry; no secret hashes to it


def secret_hash(secret: str) -> str:
    return SECRET_PREFIX + hashlib.sha256(secret.encode()).hexdigest()


def new_client_secret() -> tuple[str, str]:
    """A new secret for a resource server, and what the settings keep of it."""
    secret = secrets.token_urlsafe(32)
    return secret, secret_hash(secret)


def authenticate_client(client_id: str, secret: str, *, client: ClientInfo) -> str:
    """The resource server `client_id` if `secret` is its secret; else 401 `invalid_client` (audited), or 429 once
    the network's failures are over their budget (`introspect_auth`). A right secret is never refused for others'
    failures: the budget is looked at only after a failure (a guess at a 256-bit secret is hopeless anyway; the
    budget keeps the audit table from being flooded)."""
    clients = app_settings.INTROSPECTION_CLIENTS
    expected = clients.get(client_id) if isinstance(clients, dict) and client_id else None
    # Compared even for an unknown client, against a hash of the same length that matches nothing, so the time says
    # nothing about which client ids exist.
    matches = hmac.compare_digest(secret_hash(secret or ""), expected or UNMATCHABLE)
    if expected is None or not matches:
        record_security_event(events.INTROSPECTION_CLIENT_FAIL, client=client,
                              client_id="".join(ch for ch in str(client_id)[:64] if ch.isprintable()))
        enforce_rate_limit(scope=limits.INTROSPECT_AUTH, client=client)
        raise ServiceError("invalid_client")
    return client_id


def introspect(token: str, *, client_id: str, client: ClientInfo) -> dict:
    """RFC 7662 §2.2: {"active": false} for anything but a live access token of this service; for one, what a
    resource server needs of it."""
    enforce_rate_limit(scope=limits.INTROSPECT_CLIENT, client=client, account=client_id)
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return dict(INACTIVE)
    try:
        access = SessionAccessToken(token)
    except TokenError:
        return dict(INACTIVE)  # not a token of ours, or expired: nothing worth an audit row (anyone can send one)
    claims = access.payload
    user = user_for_live_session(user_id=claims.get(jwt_settings.USER_ID_CLAIM), session_id=claims.get("sid"))
    if user is None or not user.is_active:
        return _inactive(client_id, client, reason="session_ended", session_id=claims.get("sid"),
                         sub=claims.get(jwt_settings.USER_ID_CLAIM))
    bound = claims.get("cnf")
    return {"active": True, "token_type": "DPoP" if bound else "Bearer", "sub": claims["sub"], "sid": claims["sid"],
            "exp": claims["exp"], "iat": claims["iat"], "iss": claims["iss"], "aud": claims["aud"],
            "jti": claims["jti"], "amr": claims.get("amr", []), "auth_time": claims.get("auth_time"),
            **({"cnf": bound} if bound else {})}


def _inactive(client_id: str, client: ClientInfo, *, reason: str, session_id, **details) -> dict:
    # session_id comes from a token this service signed: one of its own session ids.
    record_security_event(events.INTROSPECTED_INACTIVE, client=client, session_id=session_id, client_id=client_id,
                          reason=reason, **details)
    return dict(INACTIVE)
