"""Immediate revocation (SECURITY.md 19): whatever ends a session makes its access tokens fail on the very
next request, not when they expire, and sessions that did not end keep working."""
import pytest
from django.contrib.auth import get_user_model

from accounts.services import deactivate_user

from .fixtures import PASSWORD, bearer
from .helpers import assert_error, me, open_session, refresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions(alice):
    """Two sessions of alice (say, a phone and a laptop)."""
    return open_session(alice), open_session(alice)


@pytest.fixture
def bystander(make_user):
    """Another user's session, which nothing here may touch."""
    return open_session(make_user("bob@example.com", password=None))


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


def test_password_change_ends_the_other_sessions_and_renews_the_current_one(api, make_user, bystander):
    alice = make_user()  # with PASSWORD
    phone, laptop = open_session(alice), open_session(alice)

    response = api.post(
        "/api/auth/change-password/",
        {"current_password": PASSWORD, "new_password": "violet tangerine harbour lantern"},
        **bearer(phone.access),
    )

    assert response.status_code == 200, response.content
    renewed = response.json()
    assert_access_dead(api, laptop)
    assert works(api, bystander)
    # The current session continues with the new pair ...
    assert me(api, renewed["access"]).status_code == 200
    next_pair = refresh(api, renewed["refresh"])
    assert next_pair.status_code == 200
    assert me(api, next_pair.json()["access"]).status_code == 200
    # ... and the refresh token issued before the change is spent: presenting it is a replay.
    assert_error(refresh(api, phone.refresh), 401, "refresh_token_reused")


def test_deactivating_the_user_ends_all_sessions_at_once(api, alice, sessions, bystander):
    phone, laptop = sessions

    assert deactivate_user(user=alice) == 2

    assert_access_dead(api, phone)
    assert_access_dead(api, laptop)
    assert_error(refresh(api, laptop.refresh), 401, "token_not_valid")
    assert works(api, bystander)


def test_setting_is_active_false_directly_is_enough(api, alice, sessions, bystander):
    phone, laptop = sessions
    # No service call, no session revoked: the per-request check looks at the user too.
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
