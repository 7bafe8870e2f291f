"""Deactivation ends the user's sessions for good, whichever way `is_active` is set to false: reactivating
the account later never brings the old access or refresh tokens back."""
from django.db import connection
import pytest

from accounts.flows import deactivation
from accounts.models import User
from authcore.models import SecurityEvent
from authcore.testing import assert_error
from sessions_app import events as session_events
from sessions_app.models import Session
from sessions_app.tests.helpers import me, refresh, session

from .test_admin_users import change_form_data, change_url, messages_of

pytestmark = pytest.mark.django_db

DEACTIVATED = Session.RevokeReason.USER_DEACTIVATED


def reactivate(user: User) -> None:
    user.refresh_from_db()
    user.is_active = True
    user.save()


def assert_ended_for_good(api, *all_tokens) -> None:
    for tokens in all_tokens:
        assert_error(me(api, tokens.access), 401, "token_not_valid")
        assert_error(refresh(api, tokens.refresh), 401, "token_not_valid")
        ended = session(tokens.session.id)
        assert (ended.state, ended.revoke_reason) == ("revoked", DEACTIVATED)


def assert_alive(api, tokens) -> None:
    assert me(api, tokens.access).status_code == 200
    assert session(tokens.session.id).state == "active"


# --- each path that deactivates ---------------------------------------------------------------------------------
def test_unticking_active_in_the_admin(admin_client, admin_user, api, alice, sessions, bystander):
    data = change_form_data(admin_client.get(change_url(alice)))
    del data["is_active"]
    response = admin_client.post(change_url(alice), data, follow=True)
    # The operator is told how many sessions ended (the save hook must not have ended them first, silently).
    assert f"Deactivated {alice.email} and ended 2 sessions." in messages_of(response)
    assert SecurityEvent.objects.get(kind=session_events.SESSION_REVOKED, user=alice).actor == admin_user

    data["is_active"] = "on"
    assert admin_client.post(change_url(alice), data).status_code == 302
    alice.refresh_from_db()
    assert alice.is_active

    assert_ended_for_good(api, *sessions)
    assert_alive(api, bystander)


@pytest.mark.parametrize("save_kwargs", [{}, {"update_fields": ["is_active"]}], ids=["save", "save-is_active"])
def test_saving_the_user_inactive(api, alice, sessions, bystander, save_kwargs):
    alice.is_active = False
    alice.save(**save_kwargs)
    reactivate(alice)

    assert_ended_for_good(api, *sessions)
    assert_alive(api, bystander)
    event = SecurityEvent.objects.get(kind=session_events.SESSION_REVOKED, user=alice)
    assert event.details == {"reason": DEACTIVATED, "count": 2}


def test_saving_an_inactive_user_again_ends_nothing_and_records_nothing(alice, sessions):
    alice.is_active = False
    alice.save()
    alice.name = "Alice"
    alice.save()

    assert SecurityEvent.objects.filter(kind=session_events.SESSION_REVOKED).count() == 1


def test_saving_an_active_user_or_other_fields_of_an_inactive_one_ends_nothing(api, alice, sessions):
    alice.name = "Alice"
    alice.save()
    alice.is_active = False
    alice.save(update_fields=["name"])  # is_active is not written, so the stored account stays active

    for tokens in sessions:
        assert_alive(api, tokens)


def test_queryset_update(api, alice, sessions, bystander):
    assert User.objects.filter(pk=alice.pk).update(is_active=False) == 1
    reactivate(alice)

    assert_ended_for_good(api, *sessions)
    assert_alive(api, bystander)


def test_queryset_update_filtered_on_is_active_itself(api, alice, sessions, bystander):
    # The filter no longer matches once the update has run: the users are picked before.
    User.objects.filter(is_active=True).exclude(email="bob@example.com").update(is_active=False)
    reactivate(alice)

    assert_ended_for_good(api, *sessions)
    assert_alive(api, bystander)


def test_bulk_update_ends_the_sessions_of_the_users_it_deactivates_only(api, alice, sessions, bystander):
    bob = User.objects.get(email="bob@example.com")
    alice.is_active, bob.name = False, "Bob"
    User.objects.bulk_update([alice, bob], ["is_active", "name"])
    reactivate(alice)

    assert_ended_for_good(api, *sessions)
    assert_alive(api, bystander)


def test_queryset_update_that_activates_or_leaves_is_active_alone_ends_nothing(api, alice, sessions):
    User.objects.filter(pk=alice.pk).update(is_active=True)
    User.objects.filter(pk=alice.pk).update(name="Alice")

    for tokens in sessions:
        assert_alive(api, tokens)


def test_the_service(api, alice, sessions, bystander, make_user):
    operator = make_user("operator@example.com", is_staff=True)

    assert deactivation.deactivate_user(user=alice, actor=operator) == 2
    reactivate(alice)

    assert_ended_for_good(api, *sessions)
    assert_alive(api, bystander)
    # One record of the ended sessions, naming the operator: the save hook found nothing left to end.
    event = SecurityEvent.objects.get(kind=session_events.SESSION_REVOKED, user=alice)
    assert (event.actor, event.details["count"]) == (operator, 2)


# --- the lazy layer: a deactivation that bypassed the ORM -------------------------------------------------------
def deactivate_with_raw_sql(user: User) -> None:
    table = connection.ops.quote_name(User._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET is_active = %s WHERE email = %s", [False, user.email])
    assert not User.objects.get(pk=user.pk).is_active
    assert session(user.auth_sessions.first().pk).state == "active"  # nothing ended it


@pytest.mark.parametrize("use", [
    pytest.param(lambda api, tokens: refresh(api, tokens.refresh), id="refresh"),
    pytest.param(lambda api, tokens: me(api, tokens.access), id="access-token"),
])
def test_using_a_token_of_a_deactivated_user_ends_its_session(api, alice, sessions, bystander, use):
    phone, laptop = sessions
    deactivate_with_raw_sql(alice)

    assert_error(use(api, phone), 401, "token_not_valid")
    assert session(phone.session.id).revoke_reason == DEACTIVATED
    reactivate(alice)

    assert_ended_for_good(api, phone)
    assert_alive(api, bystander)


def test_reactivating_after_a_raw_sql_deactivation_ends_the_sessions_left_alive(api, alice, sessions, bystander):
    """No token was used while the account was inactive, so nothing ended its sessions then: saving it
    active again does."""
    deactivate_with_raw_sql(alice)

    reactivate(alice)

    assert_ended_for_good(api, *sessions)
    assert_alive(api, bystander)
