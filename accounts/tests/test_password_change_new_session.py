"""A password change ends every session of the user, the caller's included, and the caller continues in a
new session: no token issued under the old password outlives the change, not even the access token that
made the request."""
from datetime import timedelta

import pytest

from accounts import events as account_events
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app.conf import app_settings
from sessions_app.models import Session
from sessions_app.tests.helpers import claims, me, open_session, refresh, rotate, session

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet tangerine harbour lantern"


def change_password(api, access: str):
    return api.post("/api/auth/change-password/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                    **bearer(access))


def test_the_tokens_from_before_the_change_stop_working_and_the_new_session_works(api, user):
    before = open_session(user)
    assert me(api, before.access).status_code == 200

    response = change_password(api, before.access)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh", "token_type", "expires_in", "session_id"}
    # The access token that made the request dies at once, not when it expires.
    assert_error(me(api, before.access), 401, "token_not_valid")
    assert_error(refresh(api, before.refresh), 401, "token_not_valid")
    old = session(before.session.id)
    assert (old.state, old.revoke_reason) == ("revoked", account_events.PASSWORD_CHANGED_REASON)
    # The pair returned belongs to a new session with a server-chosen id, and it works (and rotates).
    assert body["session_id"] != str(before.session.id)
    assert claims(body["access"])["sid"] == body["session_id"]
    assert session(body["session_id"]).state == "active"
    assert me(api, body["access"]).status_code == 200
    assert me(api, rotate(api, body["refresh"])["access"]).status_code == 200


def test_every_other_session_ends_too(api, user, make_user):
    phone, laptop = open_session(user), open_session(user)
    bystander = open_session(make_user("bob@example.com", password=None))

    body = change_password(api, phone.access).json()

    assert set(Session.objects.filter(user=user).alive().values_list("pk", flat=True)) == {
        session(body["session_id"]).pk}
    for old in (phone, laptop):
        assert session(old.session.id).revoke_reason == account_events.PASSWORD_CHANGED_REASON
        assert_error(me(api, old.access), 401, "token_not_valid")
    assert me(api, bystander.access).status_code == 200


def test_the_new_session_has_a_fresh_absolute_lifetime(api, user, clock):
    before = open_session(user)
    clock.shift(timedelta(days=5))  # well inside the idle timeout: the old session is still alive
    current = rotate(api, before.refresh)  # an unexpired access token of the old session

    body = change_password(api, current["access"]).json()

    renewed = session(body["session_id"])
    # The current password was just proven: a new authentication, so its lifetime starts now, like a login's.
    assert renewed.expires_at == renewed.created_at + app_settings.ABSOLUTE_LIFETIME
    assert renewed.expires_at == session(before.session.id).expires_at + timedelta(days=5)


def test_the_audit_record_names_the_session_that_changed_it(api, user):
    before = open_session(user)

    body = change_password(api, before.access).json()

    event = SecurityEvent.objects.get(kind=account_events.PASSWORD_CHANGED, user=user)
    assert str(event.session_id) == str(before.session.id) != body["session_id"]
    assert (event.details["how"], event.details["sessions_ended"]) == ("changed", 1)
