"""Helpers for the session-core tests (pytest fixtures live in fixtures.py).

Most tests open sessions with `open_session` (the service the login view calls) instead of logging in over
the API: the API login costs an Argon2 hash (~30 ms), and only the login tests need to pay for it.
"""
import hashlib
import threading
from collections.abc import Callable

import jwt
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from sessions_app import services
from sessions_app.errors import ERRORS
from sessions_app.models import RefreshToken, Session
from sessions_app.requestmeta import ClientInfo

from .fixtures import bearer

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


def sign(payload: dict, *, key: str | None = None, algorithm: str = "HS256", headers: dict | None = None) -> str:
    """A JWT signed with the service's own key unless told otherwise (for forging tests)."""
    return jwt.encode(payload, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm, headers=headers)


def live_tokens(session_id) -> list[RefreshToken]:
    """The family's refresh tokens that a refresh would still accept: none once the session is dead, else
    the one whose hash the session holds as current (there must never be more than one)."""
    family = Session.objects.get(pk=session_id)
    if not family.is_alive():
        return []
    return list(RefreshToken.objects.filter(session=family, token_hash=family.current_token_hash))


def session(session_id) -> Session:
    return Session.objects.get(pk=session_id)


def assert_error(response, status: int, code: str) -> dict:
    """The response is the error envelope {detail, code} with this status and code."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert ERRORS[code].status == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def run_at_once(count: int, work: Callable[[int], object]) -> list:
    """Run `work(i)` in `count` real threads released together by a barrier; returns the results in order.

    Each thread opens its own database connection before the barrier (so connecting does not spread the
    threads out) and closes it at the end. An exception in a thread is returned as its result."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - reported to the test, which fails on it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results
