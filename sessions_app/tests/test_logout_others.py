"""POST /api/auth/logout-others/: the caller ends every other live session of their own; theirs goes on."""
import pytest

from authcore.models import SecurityEvent
from authcore.testing import assert_error, bearer
from sessions_app import events as session_events
from sessions_app.models import Session
from sessions_app.services import end_session

from .helpers import me, open_session, refresh, session

pytestmark = pytest.mark.django_db

URL = "/api/auth/logout-others/"


def logout_others(api, access: str):
    return api.post(URL, **bearer(access))


def test_ends_every_other_session_and_keeps_the_callers(api, alice):
    current, laptop, phone = open_session(alice), open_session(alice), open_session(alice)

    response = logout_others(api, current.access)

    assert response.status_code == 200, response.content
    assert response.json() == {"revoked": 2}
    for other in (laptop, phone):
        assert_error(me(api, other.access), 401, "token_not_valid")
        assert refresh(api, other.refresh).status_code == 401
        assert session(other.session.id).revoked_at is not None
    # The caller's session goes on: its access token works and its refresh token rotates.
    assert me(api, current.access).status_code == 200
    assert session(current.session.id).is_alive()
    rotated = refresh(api, current.refresh)
    assert rotated.status_code == 200, rotated.content
    assert me(api, rotated.json()["access"]).status_code == 200


def test_counts_only_sessions_that_were_still_alive(api, alice):
    current, other = open_session(alice), open_session(alice)
    ended = open_session(alice)
    end_session(session=ended.session, reason=Session.RevokeReason.LOGOUT)

    assert logout_others(api, current.access).json() == {"revoked": 1}
    assert session(ended.session.id).revoke_reason == Session.RevokeReason.LOGOUT  # untouched
    # Nothing left to end: a second call revokes none and still leaves the caller logged in.
    assert logout_others(api, current.access).json() == {"revoked": 0}
    assert me(api, current.access).status_code == 200
    assert session(other.session.id).revoked_at is not None


def test_alone_it_revokes_nothing(api, alice):
    current = open_session(alice)

    assert logout_others(api, current.access).json() == {"revoked": 0}
    assert me(api, current.access).status_code == 200
    assert not SecurityEvent.objects.filter(kind=session_events.SESSION_REVOKED).exists()


def test_leaves_other_users_sessions_alone(api, alice, make_user):
    current, other = open_session(alice), open_session(alice)
    bob = make_user("bob@example.com", password=None)
    bobs = [open_session(bob), open_session(bob)]

    assert logout_others(api, current.access).json() == {"revoked": 1}

    for tokens in bobs:
        assert me(api, tokens.access).status_code == 200
        assert session(tokens.session.id).is_alive()
    assert session(other.session.id).revoked_at is not None


def test_is_audited_once_for_the_user(api, alice):
    current = open_session(alice)
    open_session(alice)
    open_session(alice)

    logout_others(api, current.access)

    event = SecurityEvent.objects.get(kind=session_events.SESSION_REVOKED)
    assert (event.user_id, event.details["count"]) == (alice.pk, 2)


def test_needs_a_bearer_token(api, alice):
    other = open_session(alice)

    assert_error(api.post(URL), 401, "not_authenticated")
    assert session(other.session.id).is_alive()


def test_a_dead_sessions_token_cannot_end_the_others(api, alice):
    ended, other = open_session(alice), open_session(alice)
    end_session(session=ended.session, reason=Session.RevokeReason.LOGOUT)

    assert_error(logout_others(api, ended.access), 401, "token_not_valid")
    assert session(other.session.id).is_alive()


def test_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/?format=json").json()

    operation = schema["paths"][URL]["post"]
    assert set(operation["responses"]) >= {"200", "401"}
    assert "requestBody" not in operation
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].rsplit("/", 1)[-1] in schema["components"]["schemas"]
    assert "revoked" in schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[-1]]["properties"]
