"""Token material: opaque refresh tokens (random, stored hashed) and JWT access tokens (simplejwt's tokens, signed
with the keys of sessions_app.signing)."""
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
import hashlib
import secrets
import threading
import time
import uuid

from django.utils.translation import gettext
import jwt
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken
from ua_parser import parse as parse_user_agent

from .signing import key_ring

REFRESH_TOKEN_BYTES = 32  # 256 bits from the OS CSPRNG
# Longest string we accept as a refresh token: base64url of 32 bytes is 43 characters.
REFRESH_TOKEN_MAX_LENGTH = 128


def new_refresh_token() -> str:
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def hash_refresh_token(raw: str) -> str:
    # A plain SHA-256 is enough: the input is 256 random bits, so there is nothing to brute-force and no
    # need for a salt or a slow hash; a lookup by hash stays a single indexed equality.
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class KeyRingBackend(TokenBackend):
    """simplejwt's token backend, with the keys of sessions_app.signing: a token is signed by the first key and names
    it in its `kid` header; it is checked with the key its `kid` names, by that key's algorithm only (RFC 8725
    §3.1), then exp (no leeway), iss and aud as simplejwt does."""

    def __init__(self) -> None:
        """Nothing to hold: the keys and the claims to check are read from the settings at each use."""

    def encode(self, payload: dict) -> str:
        key = key_ring().signing
        claims = {**payload, "aud": jwt_settings.AUDIENCE, "iss": jwt_settings.ISSUER}
        return jwt.encode(claims, key.private, algorithm=key.algorithm, headers={"kid": key.kid},
                          json_encoder=jwt_settings.JSON_ENCODER)

    def decode(self, token, verify: bool = True) -> dict:
        ring = key_ring()
        if verify:
            payload = verified_tokens.get(token, ring)
            if payload is not None:
                if int(payload["exp"]) <= time.time() - self.get_leeway().total_seconds():  # PyJWT's own test
                    raise TokenBackendExpiredToken("Token is expired")
                return _copy(payload)  # simplejwt's Token keeps the dict it is given, and may change it
        payload = self._decode(token, ring, verify)
        if verify:
            verified_tokens.remember(token, ring, payload)
        return payload

    def _decode(self, token, ring, verify: bool) -> dict:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise TokenBackendError("Token is invalid") from error
        kid = header.get("kid")
        key = ring.verifying(kid) if kid is None or isinstance(kid, str) else None
        if key is None or header.get("alg") != key.algorithm:
            raise TokenBackendError("Token is invalid")
        try:
            return jwt.decode(token, key.public, algorithms=[key.algorithm], audience=jwt_settings.AUDIENCE,
                              issuer=jwt_settings.ISSUER, leeway=jwt_settings.LEEWAY,
                              options={"verify_signature": verify, "verify_aud": True})
        except jwt.ExpiredSignatureError as error:
            raise TokenBackendExpiredToken("Token is expired") from error
        except jwt.InvalidTokenError as error:
            raise TokenBackendError("Token is invalid") from error

    def get_leeway(self) -> timedelta:
        leeway = jwt_settings.LEEWAY
        return leeway if isinstance(leeway, timedelta) else timedelta(seconds=leeway)


class VerifiedTokens:
    """Access tokens this process has verified, with their claims: a client sends the same access token with
    every request for its lifetime, and checking its signature again (ES256 or EdDSA: most of a GET me's
    token work) proves nothing new. Only what does not change is taken from here: the signature, `kid`, `alg`,
    `iss` and `aud`, all checked against the key ring the entry was made with; a new ring (a key added or
    retired, a test's settings) is a miss. `exp` is checked at every use, and the session behind `sid` is
    still looked up by every request, so revocation stays immediate.

    Bounded (`MAX_ENTRIES`, oldest out first) and filled only with tokens this service signed, so nobody can
    grow it by sending tokens; a client with many valid tokens (or the other spellings of one signature that
    verify too) can push others' entries out, which costs them only a verification. Shared by a process's
    threads, behind a lock held for a dictionary operation."""

    MAX_ENTRIES = 4096

    def __init__(self) -> None:
        self._entries: dict[str | bytes, tuple[object, dict]] = {}  # simplejwt passes the header's bytes
        self._lock = threading.Lock()

    def get(self, token, ring) -> dict | None:
        entry = self._entries.get(token) if isinstance(token, str | bytes) else None
        return entry[1] if entry is not None and entry[0] is ring else None

    def remember(self, token, ring, payload: dict) -> None:
        if not isinstance(token, str | bytes) or not isinstance(payload.get("exp"), int | float):
            return
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]
            self._entries[token] = (ring, _copy(payload))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


verified_tokens = VerifiedTokens()


def _copy(payload: dict) -> dict:
    """A copy of claims that shares nothing a caller could change: the lists and objects (`amr`, `cnf`) too."""
    return {name: (list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value)
            for name, value in payload.items()}


class SessionAccessToken(AccessToken):
    """The access token of a session: simplejwt's, signed and checked with sessions_app.signing's keys."""

    _token_backend = KeyRingBackend()


@dataclass(frozen=True)
class AccessTokenGrant:
    token: str
    expires_in: int
    dpop_jkt: str = ""  # bound to this key (DPoP)

    @property
    def token_type(self) -> str:
        return "DPoP" if self.dpop_jkt else "Bearer"


def mint_access_token(*, user_id: uuid.UUID, session_id: uuid.UUID, auth_time: datetime,
                      amr: list[str], dpop_jkt: str = "") -> AccessTokenGrant:
    """A short-lived JWT (signed with the first key of sessions_app.signing, named in its `kid` header) with only sub,
    sid, jti, iat, exp, iss, aud, token_type, and how and when the user
    last proved who they are: `amr` (RFC 8176 method values, e.g. ["pwd"]) and `auth_time` (seconds since the
    epoch: the sign-in, or a later reauthentication; OpenID Connect's claim), so that an API can ask for a
    recent proof (sessions_app.permissions) without a query.

    `sid` ties the token to its session, so ending the session ends the token on its next use. `dpop_jkt`: the
    token is bound to that key (RFC 9449 `cnf.jkt`) and works only with a proof by it (sessions_app.dpop)."""
    token = SessionAccessToken()  # sets token_type, exp, iat, jti
    token[jwt_settings.USER_ID_CLAIM] = str(user_id)
    token["sid"] = str(session_id)
    token["amr"] = amr
    token["auth_time"] = int(auth_time.timestamp())
    if dpop_jkt:
        token["cnf"] = {"jkt": dpop_jkt}
    return AccessTokenGrant(token=str(token), expires_in=int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
                            dpop_jkt=dpop_jkt)


@lru_cache(maxsize=2048)
def _client_and_os(user_agent: str) -> tuple[str, str]:
    """The browser (or app) and the operating system a user agent names ("" for an unknown system). Cached:
    parsing a user agent costs over a millisecond, and a service sees the same few hundred agents again and
    again (the input is capped at 512 characters, so the cache is bounded in memory too)."""
    parsed = parse_user_agent(user_agent)
    client = parsed.user_agent.family if parsed.user_agent else ""
    system = parsed.os.family if parsed.os and parsed.os.family != "Other" else ""
    return client, system


def device_label(user_agent: str) -> str:
    """A label such as "Chrome on Linux", stored with the session (the API's and the admin's `device`): English,
    whoever reads it later."""
    if not user_agent:
        return "Unknown device"
    client, system = _client_and_os(user_agent)
    client = client or "Unknown client"
    return f"{client} on {system}"[:128] if system else client[:128]


def readable_device_label(user_agent: str) -> str:
    """device_label in the reader's language, for the account pages."""
    if not user_agent:
        return gettext("Unknown device")
    client, system = _client_and_os(user_agent)
    client = client or gettext("Unknown client")
    return gettext("%(client)s on %(system)s") % {"client": client, "system": system} if system else client
