"""Immediate revocation (docs/security.md 19): whatever ends a session makes its access tokens fail on the very
next request, not when they expire, and sessions that did not end keep working."""
from django.contrib.auth import get_user_model
import pytest

from accounts.flows.deactivation import deactivate_user
from authcore.testing import PASSWORD, assert_error, bearer

from .helpers import me, open_session, refresh

pytestmark = pytest.mark.django_db


def works(api, tokens) -> bool:
    return me(api, tokens.access).status_code == 200


def assert_access_dead(api, tokens) -> None:
    response = me(api, tokens.access)
    assert_error(response, 401, "token_not_valid")
    assert "WWW-Authenticate" in response


def test_logout_ends_that_session_at_once(api, sessions, bystander):
    phone, laptop = sessions
    assert works(api, phone)

    assert api.post("/api/auth/logout/", {"refresh": phone.refresh}).status_code == 204

    assert_access_dead(api, phone)
    assert_error(refresh(api, phone.refresh), 401, "token_not_valid")
    assert works(api, laptop) and works(api, bystander)


def test_deleting_a_session_ends_it_at_once(api, sessions, bystander):
    phone, laptop = sessions
    assert works(api, phone)

    response = api.delete(f"/api/auth/sessions/{phone.session.id}/", **bearer(laptop.access))

    assert response.status_code == 204
    assert_access_dead(api, phone)
    assert_error(refresh(api, phone.refresh), 401, "token_not_valid")
    assert works(api, laptop) and works(api, bystander)


def test_logout_all_ends_every_session_of_the_user_at_once(api, sessions, bystander):
    phone, laptop = sessions

    response = api.post("/api/auth/logout-all/", **bearer(phone.access))

    assert response.json() == {"revoked": 2}
    assert_access_dead(api, phone)
    assert_access_dead(api, laptop)
    assert works(api, bystander)


def test_password_change_ends_every_session_and_the_caller_continues_in_a_new_one(api, make_user, bystander):
    alice = make_user()  # with PASSWORD
    phone, laptop = open_session(alice), open_session(alice)

    response = api.post(
        "/api/auth/change-password/",
        {"current_password": PASSWORD, "new_password": "violet tangerine harbour lantern"},
        **bearer(phone.access),
    )

    assert response.status_code == 200, response.content
    renewed = response.json()
    # Every session ends at once, the caller's too: its access token made this very request.
    assert_access_dead(api, laptop)
    assert_access_dead(api, phone)
    assert_error(refresh(api, phone.refresh), 401, "token_not_valid")
    assert works(api, bystander)
    # The caller continues in a new session with the new pair.
    assert renewed["session_id"] not in {str(phone.session.id), str(laptop.session.id)}
    assert me(api, renewed["access"]).status_code == 200
    next_pair = refresh(api, renewed["refresh"])
    assert next_pair.status_code == 200
    assert me(api, next_pair.json()["access"]).status_code == 200


def test_deactivating_the_user_ends_all_sessions_at_once(api, alice, sessions, bystander):
    phone, laptop = sessions

    assert deactivate_user(user=alice) == 2

    assert_access_dead(api, phone)
    assert_access_dead(api, laptop)
    assert_error(refresh(api, laptop.refresh), 401, "token_not_valid")
    assert works(api, bystander)


def test_setting_is_active_false_directly_is_enough(api, alice, sessions, bystander):
    phone, laptop = sessions
    # No service call: the update itself ends the sessions (UserQuerySet.update), and the per-request
    # check looks at the user too.
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)

    assert_access_dead(api, phone)
    assert_access_dead(api, laptop)
    assert_error(refresh(api, phone.refresh), 401, "token_not_valid")
    assert works(api, bystander)


def test_reuse_detection_ends_the_family_at_once(api, sessions, bystander):
    phone, laptop = sessions
    rotated = refresh(api, phone.refresh).json()
    assert me(api, rotated["access"]).status_code == 200

    assert_error(refresh(api, phone.refresh), 401, "refresh_token_reused")

    assert_access_dead(api, phone)
    assert me(api, rotated["access"]).status_code == 401
    assert works(api, laptop) and works(api, bystander)
