"""Rotation is atomic under real concurrency (docs/security.md 23): N simultaneous refreshes with one token yield
one new token (or the documented grace outcome) and never two live branches. Simultaneous sign-ins of one user
never leave more live sessions than SESSIONS_APP["MAX_SESSIONS_PER_USER"] (docs/security.md 58).

Real threads against real PostgreSQL; skipped on SQLite, which serialises writers anyway."""
from datetime import timedelta
import threading
import time

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
import pytest
from rest_framework.test import APIClient

from authcore.errors import ServiceError
from authcore.models import SecurityEvent
from authcore.requestmeta import ClientInfo
from authcore.testing import PASSWORD, run_at_once
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


# --- the cap on a user's live sessions --------------------------------------------------------------------------
CAP = 3


def assert_capped(user, *, started: int) -> None:
    """Exactly CAP live sessions, the newest; every other one ended for the cap, with its event."""
    sessions = list(Session.objects.filter(user=user).order_by("-created_at", "-id"))
    assert len(sessions) == started
    alive = [session for session in sessions if session.is_alive()]
    assert alive == sessions[:CAP]
    assert {session.revoke_reason for session in sessions[CAP:]} == {Session.RevokeReason.SESSION_LIMIT}
    evicted = SecurityEvent.objects.filter(kind=session_events.SESSION_EVICTED, user=user)
    assert sorted(str(event.session_id) for event in evicted) == sorted(str(session.id) for session in sessions[CAP:])


def test_concurrent_session_starts_of_one_user_leave_exactly_the_cap(make_user, settings):
    """start_session on its own (no caller holding the user's row): it takes the row lock itself."""
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "MAX_SESSIONS_PER_USER": CAP}
    user = make_user(password=None)
    for _ in range(CAP - 1):
        open_session(user)

    results = run_at_once(THREADS, lambda _index: services.start_session(user=user, client=ClientInfo()))

    assert_no_crash(results)
    assert_capped(user, started=THREADS + CAP - 1)


def test_concurrent_logins_of_one_user_leave_exactly_the_cap(make_user, settings):
    """The API's login, whose UPDATE of last_login holds the user's row for start_session."""
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "MAX_SESSIONS_PER_USER": CAP}
    user = make_user()
    logins = 12

    def log_in(index):
        client = APIClient(REMOTE_ADDR=f"198.51.100.{index + 1}")
        return client.post("/api/auth/login/", {"email": user.email, "password": PASSWORD}).status_code

    results = run_at_once(logins, log_in)

    assert results == [200] * logins
    assert_capped(user, started=logins)


def log_in_holding_the_user(user, holds: threading.Event):
    """A login's transaction as the API runs it: its UPDATE of last_login takes the user's row, then, half a second
    later (while another flow starts), it opens a session, ending those past the cap. Returns the new session's id."""
    with transaction.atomic():
        get_user_model().objects.filter(pk=user.pk).update(last_login=timezone.now())
        holds.set()
        time.sleep(0.5)
        return services.start_session(user=user, client=ClientInfo(), user_locked=True).session.id


def test_a_login_ending_a_session_and_that_sessions_password_change_take_turns(make_user, settings):
    """A login at the cap ends the oldest session while a password change from that very session is under way. Both
    take the user's row before the session's (the change: lock_user; the login: its UPDATE of last_login), so the
    change waits, then finds its session ended; taken the other way round, each would wait for the other until
    PostgreSQL broke the deadlock with an error."""
    from accounts.flows import passwords as passwords_flow

    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "MAX_SESSIONS_PER_USER": 2}
    user = make_user(password=None)
    oldest = open_session(user)
    open_session(user)
    login_holds_the_user = threading.Event()

    def work(index):
        if index == 0:
            return log_in_holding_the_user(user, login_holds_the_user)
        assert login_holds_the_user.wait(timeout=10)  # the password change starts, and waits
        changing = get_user_model().objects.get(pk=user.pk)
        try:
            passwords_flow.replace_password_in_session(
                user=changing, session_id=oldest.session.id, client=ClientInfo(), device_token=None, how="changed",
                store=lambda change: passwords_flow.set_new_password(
                    user=changing, new_password="violet harbour lantern mosaic", change=change))
        except ServiceError as error:
            return error.code
        return "changed"

    results = run_at_once(2, work)

    assert_no_crash(results)
    new_session, change = results
    assert change == "token_not_valid"
    assert Session.objects.get(pk=oldest.session.id).revoke_reason == Session.RevokeReason.SESSION_LIMIT
    assert Session.objects.get(pk=new_session).is_alive()


@pytest.mark.parametrize("flow", ["logout-all", "not me"])
def test_a_login_ending_sessions_past_a_lowered_cap_and_a_flow_ending_several_take_turns(make_user, settings, flow):
    """A login ends every session past a lowered cap while logout-all (or a "this wasn't me" report) ends the same
    sessions. Both take the user's row before any session's, so the second waits for the login, then finds them
    ended; locking the sessions in their own orders, the two could each hold one the other waits for."""
    from accounts.flows import not_me

    user = make_user(password=None)
    sessions = [open_session(user).session for _ in range(3)]  # one client: "not me" ends them all (one device)
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "MAX_SESSIONS_PER_USER": 1}  # lowered since
    login_holds_the_user = threading.Event()

    def work(index):
        if index == 0:
            return log_in_holding_the_user(user, login_holds_the_user)
        assert login_holds_the_user.wait(timeout=10)  # the other flow starts, and waits
        try:
            if flow == "logout-all":
                return services.end_user_sessions(user=user, reason=Session.RevokeReason.LOGOUT_ALL)
            return not_me.report_unrecognised_sign_in(token=not_me.not_me_token(sessions[-1].id),
                                                      client=ClientInfo()).id
        except ServiceError as error:
            return error.code

    results = run_at_once(2, work)

    assert_no_crash(results)
    new_session, other = results
    # The login went first: it ended the three (past the cap of one); the other flow found nothing left to end.
    assert [Session.objects.get(pk=session.pk).revoke_reason for session in sessions] == \
        [Session.RevokeReason.SESSION_LIMIT] * 3
    if flow == "logout-all":
        assert other == 1 and not Session.objects.get(pk=new_session).is_alive()  # the login's own, after it
    else:
        assert other == "invalid_token" and Session.objects.get(pk=new_session).is_alive()
