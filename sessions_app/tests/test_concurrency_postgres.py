"""Rotation is atomic under real concurrency (docs/security.md 23): N simultaneous refreshes with one token yield
one new token (or the documented grace outcome) and never two live branches.

Real threads against real PostgreSQL; skipped on SQLite, which serialises writers anyway."""
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from authcore.errors import ServiceError
from authcore.models import SecurityEvent
from authcore.requestmeta import ClientInfo
from authcore.testing import run_at_once
from sessions_app import events as session_events
from sessions_app import services
from sessions_app.models import RefreshToken, Session

from .helpers import live_tokens, open_session, sha256

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20


def rotate_with_service(raw: str):
    def work(_index):
        try:
            return 200, services.rotate_refresh_token(raw_refresh=raw, client=ClientInfo()).refresh
        except ServiceError as error:
            return error.code, None

    return work


def rotate_with_api(raw: str):
    def work(index):
        client = APIClient(REMOTE_ADDR=f"198.51.100.{index + 1}")
        response = client.post("/api/auth/refresh/", {"refresh": raw})
        body = response.json()
        return (200, body["refresh"]) if response.status_code == 200 else (body["code"], None)

    return work


def assert_no_crash(results):
    crashes = [result for result in results if isinstance(result, BaseException)]
    assert not crashes, crashes


@pytest.mark.parametrize("make_work", [rotate_with_service, rotate_with_api], ids=["service", "api"])
def test_strict_concurrent_refresh_has_one_winner_and_ends_the_family(make_user, make_work):
    tokens = open_session(make_user(password=None))

    results = run_at_once(THREADS, make_work(tokens.refresh))

    assert_no_crash(results)
    winners = [raw for code, raw in results if code == 200]
    losers = [code for code, _ in results if code != 200]
    assert len(winners) == 1
    assert losers == ["refresh_token_reused"] * (THREADS - 1)
    # One child was issued (never a second branch), and since the token was replayed the family is dead:
    # no token of it works any more, the winner's included.
    family = Session.objects.get(pk=tokens.session.id)
    assert RefreshToken.objects.filter(session=family).count() == 2
    assert family.revoked_at is not None and family.revoke_reason == Session.RevokeReason.TOKEN_REUSED
    assert live_tokens(family.id) == []
    assert SecurityEvent.objects.filter(kind=session_events.TOKEN_REUSE, session_id=family.id).exists()
    with pytest.raises(ServiceError):
        services.rotate_refresh_token(raw_refresh=winners[0], client=ClientInfo())


def test_concurrent_refresh_within_grace_leaves_exactly_one_live_token(make_user, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "REFRESH_REUSE_GRACE": timedelta(seconds=30)}
    tokens = open_session(make_user(password=None))

    results = run_at_once(THREADS, rotate_with_service(tokens.refresh))

    assert_no_crash(results)
    assert {code for code, _ in results} <= {200, "refresh_token_reused"}
    returned = [raw for code, raw in results if code == 200]
    assert returned
    family = Session.objects.get(pk=tokens.session.id)
    assert family.is_alive()
    # Exactly one of the tokens handed out is the family's live one. (Presenting one of the retired ones
    # would itself be a replay and end the family, so which one is live is read from the database.)
    working = [raw for raw in returned if sha256(raw) == family.current_token_hash]
    assert len(working) == 1
    assert len(live_tokens(family.id)) == 1
    assert services.rotate_refresh_token(raw_refresh=working[0], client=ClientInfo()).refresh
    # ... and a retired one is refused (and, being a replay after the family moved on, ends it).
    retired = next(raw for raw in returned if raw != working[0])
    with pytest.raises(ServiceError) as error:
        services.rotate_refresh_token(raw_refresh=retired, client=ClientInfo())
    assert error.value.code == "refresh_token_reused"
