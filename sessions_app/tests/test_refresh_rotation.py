"""Refresh tokens (docs/security.md 20-21): opaque 256-bit values from `secrets`, rotated on every use."""
import base64
from datetime import timedelta
import re

import pytest

from authcore.testing import CLOCK_START, assert_error
from sessions_app.models import RefreshToken
from sessions_app.tokens import new_refresh_token

from .helpers import claims, me, open_session, refresh, session, sha256

pytestmark = pytest.mark.django_db

URLSAFE_43 = re.compile(r"[A-Za-z0-9_-]{43}")


@pytest.fixture
def tokens(make_user):
    return open_session(make_user(password=None))


def test_refresh_tokens_are_256_bit_urlsafe_and_unique():
    minted = {new_refresh_token() for _ in range(200)}
    assert len(minted) == 200
    for raw in minted:
        assert URLSAFE_43.fullmatch(raw)
        assert len(base64.urlsafe_b64decode(raw + "=")) == 32


def test_refresh_returns_a_new_pair_for_the_same_session(api, tokens):
    response = refresh(api, tokens.refresh)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert URLSAFE_43.fullmatch(body["refresh"]) and body["refresh"] != tokens.refresh
    assert body["access"] != tokens.access
    assert claims(body["access"])["sid"] == str(tokens.session.id)
    assert me(api, body["access"]).status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_every_use_rotates_and_spends_the_presented_token(api, tokens):
    current = tokens.refresh
    issued = [current]
    for _ in range(5):
        response = refresh(api, current)
        assert response.status_code == 200
        current = response.json()["refresh"]
        issued.append(current)
    assert len(set(issued)) == 6
    # The family's history: one row per token, each pointing at the token it replaced.
    rows = {row.token_hash: row for row in RefreshToken.objects.filter(session=tokens.session.id)}
    assert set(rows) == {sha256(raw) for raw in issued}
    for parent, child in zip(issued, issued[1:], strict=False):
        assert rows[sha256(child)].parent_id == rows[sha256(parent)].pk
    assert session(tokens.session.id).current_token_hash == sha256(current)
    # The presented token is spent: using it again is a replay.
    assert_error(refresh(api, issued[-2]), 401, "refresh_token_reused")


def test_a_refresh_moves_last_used_at(api, alice, clock):
    tokens = open_session(alice)
    opened_at = session(tokens.session.id).last_used_at
    clock.shift(timedelta(hours=3))

    assert refresh(api, tokens.refresh).status_code == 200

    after = session(tokens.session.id)
    assert opened_at == CLOCK_START
    assert after.last_used_at == after.rotated_at == CLOCK_START + timedelta(hours=3)


@pytest.mark.parametrize("raw", ["garbage", "x" * 43, "A" * 128, "\u00e9" * 20, "null"])
def test_unknown_refresh_tokens_are_401(api, tokens, raw):
    assert_error(refresh(api, raw), 401, "token_not_valid")
    # An unknown token is not a replay: the real session is untouched.
    assert refresh(api, tokens.refresh).status_code == 200


def test_overlong_refresh_token_is_400_before_any_lookup(api, django_assert_num_queries):
    with django_assert_num_queries(0):
        body = assert_error(refresh(api, "A" * 129), 400, "invalid")
    assert body["errors"] == [{"field": "refresh", "code": "max_length", "message": body["errors"][0]["message"]}]


def test_refresh_token_is_used_exactly_as_sent(api, tokens):
    # Not trimmed: a token with surrounding whitespace is a different (unknown) token.
    assert_error(refresh(api, f" {tokens.refresh} "), 401, "token_not_valid")
    assert refresh(api, tokens.refresh).status_code == 200
