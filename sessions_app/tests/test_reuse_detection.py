"""Reuse detection (docs/security.md 22): a spent refresh token presented again ends the whole family (its
current refresh token and its access tokens) and is recorded; a configurable grace interval (default 0)
covers only the immediate parent, only within the window."""
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
import pytest

from authcore.models import SecurityEvent
from authcore.testing import CLOCK_START, PASSWORD, assert_error, bearer
from sessions_app import events as session_events
from sessions_app.conf import app_settings
from sessions_app.models import Session

from .helpers import live_tokens, me, open_session, refresh, rotate, session, sha256

pytestmark = pytest.mark.django_db

START = CLOCK_START


@pytest.fixture
def grace(settings):
    def set_grace(seconds: int) -> None:
        settings.SESSIONS_APP = {**settings.SESSIONS_APP, "REFRESH_REUSE_GRACE": timedelta(seconds=seconds)}

    return set_grace


def assert_family_ended(api, tokens, *later_pairs) -> None:
    family = session(tokens.session.id)
    assert family.revoked_at is not None
    assert family.revoke_reason == Session.RevokeReason.TOKEN_REUSED
    assert live_tokens(family.id) == []
    for access in (tokens.access, *(pair["access"] for pair in later_pairs)):
        assert me(api, access).status_code == 401


def test_grace_is_strict_by_default():
    assert timedelta(0) == app_settings.REFRESH_REUSE_GRACE


def test_replaying_a_rotated_token_ends_the_family_and_is_recorded(api, alice, clock):
    tokens = open_session(alice)
    other = open_session(alice)
    child = rotate(api, tokens.refresh)

    # Even at the very same instant: strict means no window at all.
    response = refresh(api, tokens.refresh, REMOTE_ADDR="198.51.100.66", HTTP_USER_AGENT="curl/8.0")

    assert_error(response, 401, "refresh_token_reused")
    assert_family_ended(api, tokens, child)
    # The family's current refresh token died with it.
    assert_error(refresh(api, child["refresh"]), 401, "token_not_valid")
    event = SecurityEvent.objects.get(kind=session_events.TOKEN_REUSE)
    assert event.user == alice
    assert event.session_id == tokens.session.id
    assert event.ip_address == "198.51.100.66" and event.user_agent == "curl/8.0"
    # Only that family: the user's other session is untouched.
    assert me(api, other.access).status_code == 200
    assert rotate(api, other.refresh)


def test_replaying_again_after_the_family_ended_still_says_reused(api, alice):
    tokens = open_session(alice)
    rotate(api, tokens.refresh)
    assert_error(refresh(api, tokens.refresh), 401, "refresh_token_reused")
    assert_error(refresh(api, tokens.refresh), 401, "refresh_token_reused")
    assert SecurityEvent.objects.filter(kind=session_events.TOKEN_REUSE).count() == 1


def test_grace_lets_the_immediate_parent_be_replayed_once_more(api, alice, clock, grace):
    grace(10)
    tokens = open_session(alice)
    clock.shift(timedelta(seconds=1))
    lost_child = rotate(api, tokens.refresh)  # the response that "got lost in flight"
    clock.shift(timedelta(seconds=5))

    retry = refresh(api, tokens.refresh)

    assert retry.status_code == 200
    replacement = retry.json()
    assert replacement["refresh"] not in (lost_child["refresh"], tokens.refresh)
    # The unused child is retired: the family has exactly one live refresh token, the replacement.
    assert [token.token_hash for token in live_tokens(tokens.session.id)] == [sha256(replacement["refresh"])]
    assert session(tokens.session.id).revoked_at is None
    assert me(api, replacement["access"]).status_code == 200
    assert rotate(api, replacement["refresh"])


def test_grace_retired_child_is_a_replay(api, alice, clock, grace):
    grace(10)
    tokens = open_session(alice)
    lost_child = rotate(api, tokens.refresh)
    replacement = rotate(api, tokens.refresh)

    assert_error(refresh(api, lost_child["refresh"]), 401, "refresh_token_reused")
    assert_family_ended(api, tokens, replacement)


def test_parent_replayed_after_the_window_ends_the_family(api, alice, clock, grace):
    grace(10)
    tokens = open_session(alice)
    child = rotate(api, tokens.refresh)
    clock.shift(timedelta(seconds=11))

    assert_error(refresh(api, tokens.refresh), 401, "refresh_token_reused")
    assert_family_ended(api, tokens, child)


def test_parent_at_the_edge_of_the_window_is_still_accepted(api, alice, clock, grace):
    grace(10)
    tokens = open_session(alice)
    rotate(api, tokens.refresh)
    clock.shift(timedelta(seconds=10))
    assert refresh(api, tokens.refresh).status_code == 200


def test_grandparent_within_the_window_ends_the_family(api, alice, clock, grace):
    grace(10)
    tokens = open_session(alice)
    child = rotate(api, tokens.refresh)
    clock.shift(timedelta(seconds=1))
    grandchild = rotate(api, child["refresh"])
    clock.shift(timedelta(seconds=1))

    assert_error(refresh(api, tokens.refresh), 401, "refresh_token_reused")
    assert_family_ended(api, tokens, child, grandchild)


def test_grace_does_not_cover_tokens_retired_by_a_password_change(api, make_user, grace):
    grace(10)
    tokens = open_session(make_user())  # with PASSWORD
    rotated = rotate(api, tokens.refresh)  # the parent is now within the grace window
    changed = api.post("/api/auth/change-password/",
                       {"current_password": PASSWORD, "new_password": "violet tangerine harbour lantern"},
                       **bearer(rotated["access"]))
    assert changed.status_code == 200, changed.content

    # The password change ended the session: neither its live token nor the parent within the window works.
    assert_error(refresh(api, rotated["refresh"]), 401, "token_not_valid")
    assert_error(refresh(api, tokens.refresh), 401, "token_not_valid")
    # The new session is another family, untouched by those attempts.
    assert me(api, changed.json()["access"]).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_ending_the_family_and_its_audit_record_commit_together(api, alice):
    """One transaction: the revocation and the `authn_token_reuse` record are written, or neither is."""
    tokens = open_session(alice)
    rotate(api, tokens.refresh)

    with CaptureQueriesContext(connection) as queries:
        assert_error(refresh(api, tokens.refresh), 401, "refresh_token_reused")

    sqls = [query["sql"] for query in queries]
    begin = next(index for index, sql in enumerate(sqls) if sql.startswith("BEGIN"))  # SQLite: BEGIN IMMEDIATE
    commit = sqls.index("COMMIT", begin)
    inside, after = sqls[begin + 1:commit], sqls[commit + 1:]
    assert any(sql.startswith('UPDATE "sessions_app_session" SET "revoked_at"') for sql in inside)
    assert any(sql.startswith('INSERT INTO "sessions_app_securityevent"') for sql in inside)
    assert not any("securityevent" in sql for sql in after)
