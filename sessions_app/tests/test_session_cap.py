"""A user has at most SESSIONS_APP["MAX_SESSIONS_PER_USER"] live sessions (docs/security.md 58): a session that
would take them past it ends their oldest ones (by created_at, then id), with the revoke reason `session_limit`
and a `session_evicted` event each, in the transaction that starts it. The real-thread test of two sign-ins at
once is in test_concurrency_postgres.py."""
from datetime import timedelta

from django.core import checks
from django.test import override_settings
import pytest

from accounts.testing import login
from authcore.models import SecurityEvent
from authcore.requestmeta import ClientInfo
from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app import events
from sessions_app.checks import check_session_settings
from sessions_app.models import Session

from .helpers import me, open_session, refresh

pytestmark = pytest.mark.django_db

LIMIT = Session.RevokeReason.SESSION_LIMIT


@pytest.fixture
def cap(settings):
    def set_cap(value):
        settings.SESSIONS_APP = {**settings.SESSIONS_APP, "MAX_SESSIONS_PER_USER": value}

    return set_cap


def live(user) -> list[Session]:
    return list(Session.objects.alive().filter(user=user).order_by("created_at", "id"))


def test_at_the_cap_a_new_session_ends_the_oldest_and_the_newest_stay(clock, alice, bystander, cap):
    cap(3)
    opened = []
    for _ in range(3):
        opened.append(open_session(alice))
        clock.shift(timedelta(minutes=1))

    newest = open_session(alice, ClientInfo(ip_address="192.0.2.9", user_agent="curl/8"))

    oldest = Session.objects.get(pk=opened[0].session.id)
    assert oldest.revoked_at is not None and oldest.revoke_reason == LIMIT
    assert oldest.get_revoke_reason_display() == "Ended: too many sessions"
    assert [session.id for session in live(alice)] == [opened[1].session.id, opened[2].session.id,
                                                       newest.session.id]
    # One event for the session ended, naming it, why, the cap and the session that made room for itself; the
    # client is the sign-in's.
    (event,) = SecurityEvent.objects.filter(kind=events.SESSION_EVICTED)
    assert (event.user_id, event.session_id, event.ip_address) == (alice.pk, oldest.id, "192.0.2.9")
    assert event.details == {"reason": "session_limit", "limit": 3, "by_session": str(newest.session.id)}
    # Another user's sessions are not counted, nor touched.
    assert Session.objects.get(pk=bystander.session.id).is_alive()


def test_an_evicted_session_fails_like_any_ended_one(api, alice, cap, clock):
    cap(1)
    first = open_session(alice)
    clock.shift(timedelta(seconds=1))
    second = open_session(alice)

    assert_error(refresh(api, first.refresh), 401, "token_not_valid")
    assert_error(me(api, first.access), 401, "token_not_valid")
    assert me(api, second.access).status_code == 200
    assert refresh(api, second.refresh).status_code == 200


def test_three_hundred_sign_ins_keep_the_live_sessions_at_the_cap(api, alice, cap):
    cap(5)
    opened = []
    for number in range(300):
        opened.append(open_session(alice).session.id)
        assert Session.objects.alive().filter(user=alice).count() == min(number + 1, 5)

    assert {session.id for session in live(alice)} == set(opened[-5:])
    assert Session.objects.filter(user=alice, revoke_reason=LIMIT).count() == 295
    assert SecurityEvent.objects.filter(kind=events.SESSION_EVICTED).count() == 295
    # The list shows the five, all on one page.
    response = api.get("/api/auth/sessions/", **bearer(open_session(alice).access))
    assert len(response.json()) == 5 and "Link" not in response


def test_ties_in_created_at_go_by_id_and_never_end_the_new_session(alice, cap, clock):
    """The clock stands still: every session has the same created_at, and the smaller ids are the older."""
    cap(2)
    first, second = open_session(alice), open_session(alice)
    older, newer = sorted([first.session.id, second.session.id])

    third = open_session(alice)

    assert {session.id for session in live(alice)} == {newer, third.session.id}
    assert Session.objects.get(pk=older).revoke_reason == LIMIT


def test_a_lowered_cap_ends_every_session_past_it_at_the_next_sign_in(alice, cap, clock):
    opened = []
    for _ in range(6):
        opened.append(open_session(alice).session.id)
        clock.shift(timedelta(seconds=1))
    cap(2)

    newest = open_session(alice).session.id

    assert [session.id for session in live(alice)] == [opened[-1], newest]
    ended = set(SecurityEvent.objects.filter(kind=events.SESSION_EVICTED).values_list("session_id", flat=True))
    assert ended == set(opened[:5])


def test_ended_and_expired_sessions_do_not_count(api, alice, cap, clock):
    cap(2)
    ended = open_session(alice)
    api.post("/api/auth/logout/", {"refresh": ended.refresh})
    expired = open_session(alice)
    Session.objects.filter(pk=expired.session.id).update(idle_expires_at=expired.session.created_at)
    clock.shift(timedelta(seconds=1))
    kept = open_session(alice)
    clock.shift(timedelta(seconds=1))

    newest = open_session(alice)

    assert [session.id for session in live(alice)] == [kept.session.id, newest.session.id]
    assert not SecurityEvent.objects.filter(kind=events.SESSION_EVICTED).exists()
    # Two live ones now: the next sign-in makes room.
    open_session(alice)
    assert Session.objects.get(pk=kept.session.id).revoke_reason == LIMIT
    assert Session.objects.get(pk=ended.session.id).revoke_reason == Session.RevokeReason.LOGOUT


def test_the_default_cap_is_a_hundred_and_none_means_no_cap(alice, cap, clock):
    opened = []
    for _ in range(101):
        opened.append(open_session(alice).session.id)
        clock.shift(timedelta(seconds=1))
    assert Session.objects.get(pk=opened[0]).revoke_reason == LIMIT
    assert len(live(alice)) == 100

    cap(None)
    for _ in range(5):
        open_session(alice)
    assert len(live(alice)) == 105


def test_every_login_path_is_capped(api, user, cap):
    """The API's password login (the second step and passkey sign-in open their session the same way,
    accounts.flows.login._open_session)."""
    cap(1)
    first = login(api)
    second = login(api)

    assert [str(session.id) for session in live(user)] == [second["session_id"]]
    assert Session.objects.get(pk=first["session_id"]).revoke_reason == LIMIT
    assert_error(refresh(api, first["refresh"]), 401, "token_not_valid")


def test_the_browser_sign_in_is_capped(api, client, user, cap):
    cap(1)
    api_session = login(api)
    response = client.post("/accounts/login/", {"email": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert Session.objects.get(pk=api_session["session_id"]).revoke_reason == LIMIT
    assert [session.transport for session in live(user)] == [Session.Transport.BROWSER]


@pytest.mark.parametrize("value", [0, -1, 2.5, "100", True], ids=["zero", "negative", "float", "string", "bool"])
def test_the_check_refuses_a_cap_that_is_not_a_positive_integer(settings, value):
    with override_settings(SESSIONS_APP={**settings.SESSIONS_APP, "MAX_SESSIONS_PER_USER": value}):
        assert "sessions_app.E027" in {message.id for message in check_session_settings()}


@pytest.mark.parametrize("value", [None, 1, 100_000])
def test_the_check_accepts_none_or_a_positive_cap(settings, value):
    with override_settings(SESSIONS_APP={**settings.SESSIONS_APP, "MAX_SESSIONS_PER_USER": value}):
        assert not [message for message in check_session_settings() if message.level >= checks.ERROR]


def test_the_caps_fixed_statement_asks_what_the_orm_asks(clock, alice, bystander):
    """_make_room reads the sessions past the cap with a fixed statement, prepared once per connection: the same
    ids, in the same order, as the queryset it stands for, over sessions alive, ended, expired, idle and another
    user's, for every number of newest kept."""
    from django.db import connection
    from django.utils import timezone

    from authcore.backends import fetch_all_prepared
    from sessions_app.services import _past_the_cap_sql

    for _ in range(6):
        open_session(alice)
        open_session(bystander.session.user)
        clock.shift(timedelta(seconds=1))
    ids = [session.pk for session in Session.objects.filter(user=alice).order_by("created_at")]
    now = timezone.now()
    Session.objects.filter(pk=ids[1]).update(revoked_at=now, revoke_reason=LIMIT)
    Session.objects.filter(pk=ids[3]).update(expires_at=now)
    Session.objects.filter(pk=ids[4]).update(idle_expires_at=now - timedelta(seconds=1))
    same_time = Session.objects.filter(pk__in=ids[:3])
    same_time.update(created_at=Session.objects.get(pk=ids[0]).created_at)  # ties go by id
    for skip in range(0, 7):
        rows = fetch_all_prepared(connection, _past_the_cap_sql(connection.vendor), {
            "user": Session._meta.get_field("user").get_db_prep_value(alice.pk, connection),
            "now": connection.ops.adapt_datetimefield_value(now), "skip": skip})
        expected = list(Session.objects.alive(now).filter(user=alice).order_by("-created_at", "-id")
                        .values_list("pk", flat=True)[skip:])
        assert [Session._meta.pk.to_python(session_id) for session_id, in rows] == expected
