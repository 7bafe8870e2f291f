"""The per-request lookup (selectors.user_for_live_session) runs SQL compiled once from the ORM's one
definition of a live session (models.alive_session_q): it must agree with that definition in every state."""
from datetime import timedelta

import pytest

from authcore.requestmeta import ClientInfo
from sessions_app import selectors, services
from sessions_app.models import Session

pytestmark = pytest.mark.django_db


def lookup(session: Session):
    return selectors.user_for_live_session(user_id=str(session.user_id), session_id=str(session.pk))


def test_the_lookup_agrees_with_the_orm_in_every_state(alice, make_user, clock):
    def opened() -> Session:
        return services.start_session(user=alice, client=ClientInfo()).session

    alive, revoked, expired, idle = opened(), opened(), opened(), opened()
    Session.objects.filter(pk=revoked.pk).update(revoked_at=alive.created_at)
    Session.objects.filter(pk=expired.pk).update(expires_at=alive.created_at + timedelta(minutes=1))
    Session.objects.filter(pk=idle.pk).update(idle_expires_at=alive.created_at + timedelta(minutes=1))
    clock.shift(timedelta(minutes=2))

    live = set(Session.objects.alive().values_list("pk", flat=True))
    assert live == {alive.pk}
    for session in (alive, revoked, expired, idle):
        user = lookup(session)
        assert (user is not None) == (session.pk in live), session
    assert lookup(alive).pk == alice.pk and lookup(alive).email == alice.email


def test_another_users_session_or_a_malformed_id_finds_nobody(alice, make_user):
    session = services.start_session(user=alice, client=ClientInfo()).session
    bob = make_user("bob@example.com", password=None)

    assert selectors.user_for_live_session(user_id=str(bob.pk), session_id=str(session.pk)) is None
    assert selectors.user_for_live_session(user_id=str(alice.pk), session_id="not-a-uuid") is None
    assert selectors.user_for_live_session(user_id="not-a-uuid", session_id=str(session.pk)) is None


def test_the_user_comes_back_with_every_field_converted(alice):
    session = services.start_session(user=alice, client=ClientInfo()).session
    user = lookup(session)

    for field in type(alice)._meta.concrete_fields:
        assert getattr(user, field.attname) == getattr(alice, field.attname), field.name
    assert user._state.adding is False and user._state.db == "default"


def test_where_the_lookup_cannot_be_compiled_the_orm_answers_the_same(alice, monkeypatch):
    """A user manager that adds conditions of its own leaves parameters no stand-in explains: the lookup
    is then not compiled, and the ORM runs the query on each request."""
    session = services.start_session(user=alice, client=ClientInfo()).session
    monkeypatch.setitem(selectors._compiled, "default", None)

    assert lookup(session).pk == alice.pk
    services.end_session(session=session, reason=Session.RevokeReason.LOGOUT)
    assert lookup(session) is None
