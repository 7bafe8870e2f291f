"""Helpers for the session tests (the shared fixtures are in the root conftest.py).

Most tests open sessions with `open_session` (the service the login view calls) instead of logging in over
the API: the API login costs an Argon2 hash (~30 ms), and only the login tests need to pay for it.
"""
import hashlib

import jwt
from rest_framework.test import APIClient

from authcore.requestmeta import ClientInfo
from authcore.testing import bearer
from sessions_app import services
from sessions_app.models import RefreshToken, Session
from sessions_app.signing import key_ring

CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
CLIENT = ClientInfo(ip_address="203.0.113.7", user_agent=CHROME_UA)


def open_session(user, client: ClientInfo = CLIENT) -> services.IssuedTokens:
    """A new session for `user`, exactly as a successful login opens it (without hashing a password)."""
    return services.start_session(user=user, client=client)


def refresh(client: APIClient, raw_refresh: str, **extra):
    return client.post("/api/auth/refresh/", {"refresh": raw_refresh}, **extra)


def rotate(client: APIClient, raw_refresh: str) -> dict:
    """A refresh that must succeed; returns the new pair."""
    response = refresh(client, raw_refresh)
    assert response.status_code == 200, response.content
    return response.json()


def me(client: APIClient, access: str):
    return client.get("/api/auth/me/", **bearer(access))


def sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def claims(access: str) -> dict:
    return jwt.decode(access, options={"verify_signature": False})


def sign(payload: dict, *, key=None, algorithm: str | None = None, headers: dict | None = None) -> str:
    """A JWT signed with the service's own signing key, naming it, unless told otherwise (for forging tests)."""
    own = key_ring().signing
    return jwt.encode(payload, own.private if key is None else key, algorithm=algorithm or own.algorithm,
                      headers={"kid": own.kid, **(headers or {})})


def live_tokens(session_id) -> list[RefreshToken]:
    """The family's refresh tokens that a refresh would still accept: none once the session is dead, else
    the one whose hash the session holds as current (there must never be more than one)."""
    family = Session.objects.get(pk=session_id)
    if not family.is_alive():
        return []
    return list(RefreshToken.objects.filter(session=family, token_hash=family.current_token_hash))


def session(session_id) -> Session:
    return Session.objects.get(pk=session_id)
