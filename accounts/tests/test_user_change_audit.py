"""Changes to a user that matter for security are audited by whatever path makes them (User.save and
UserQuerySet.update call services.email_address_replaced and services.user_fields_changed): an operator's
address change in the admin follows the self-service rule (an event naming the operator, a notice to the old
address, sessions kept), and granting or removing staff or superuser status and editing the name write an
event from the admin, a shell or the API."""
from django.core import mail
import pytest
from rest_framework.test import APIClient

from accounts import events as account_events
from accounts.models import User
from authcore.models import SecurityEvent
from authcore.testing import bearer, login
from sessions_app.models import Session

from .test_admin_users import change_form_data, change_url

pytestmark = pytest.mark.django_db(transaction=True)  # notices are queued and sent on commit

CHANGED_SUBJECT = "Your Auth Service email address was changed"


def events_of(kind: str) -> list:
    return list(SecurityEvent.objects.filter(kind=kind).order_by("created_at"))


def test_an_operator_changing_the_address_in_the_admin_is_audited_and_told_to_the_old_address(
        admin_client, admin_user, user):
    tokens = login(APIClient())
    mail.outbox.clear()
    data = {**change_form_data(admin_client.get(change_url(user))), "email": "alice.new@example.com"}
    assert admin_client.post(change_url(user), data).status_code == 302

    [event] = events_of(account_events.EMAIL_CHANGED)
    assert (event.user_id, event.actor_id) == (user.pk, admin_user.pk)
    [notice] = [message for message in mail.outbox if message.to == ["alice@example.com"]]
    assert "a***@e***.com" in notice.body and "alice.new@example.com" not in notice.body
    # The sessions stay, as for the owner's own change: the address is not a credential.
    assert Session.objects.get(pk=tokens["session_id"]).revoked_at is None
    assert APIClient().get("/api/auth/me/", **bearer(tokens["access"])).status_code == 200


def test_another_spelling_of_the_same_address_is_no_change(admin_client, user):
    data = {**change_form_data(admin_client.get(change_url(user))), "email": "ALICE@example.com"}
    assert admin_client.post(change_url(user), data).status_code == 302
    assert events_of(account_events.EMAIL_CHANGED) == []
    assert [message for message in mail.outbox if message.to == ["alice@example.com"]] == []


@pytest.mark.parametrize("field", ["is_staff", "is_superuser"])
def test_granting_and_removing_privileges_in_the_admin_is_audited(admin_client, admin_user, user, field):
    data = {**change_form_data(admin_client.get(change_url(user))), field: "on"}
    assert admin_client.post(change_url(user), data).status_code == 302
    data.pop(field)
    assert admin_client.post(change_url(user), data).status_code == 302

    granted, removed = events_of(account_events.PRIVILEGES_CHANGED)
    assert granted.details == {field: {"from": False, "to": True}} and granted.actor_id == admin_user.pk
    assert removed.details == {field: {"from": True, "to": False}} and removed.user_id == user.pk


def test_editing_the_name_in_the_admin_is_audited_without_the_name(admin_client, admin_user, user):
    data = {**change_form_data(admin_client.get(change_url(user))), "name": "Alice Liddell"}
    assert admin_client.post(change_url(user), data).status_code == 302
    [event] = events_of(account_events.PROFILE_UPDATED)
    assert event.details == {"fields": ["name"]} and event.actor_id == admin_user.pk
    # Saving the form again without a change writes nothing.
    assert admin_client.post(change_url(user), data).status_code == 302
    assert len(events_of(account_events.PROFILE_UPDATED)) == 1


def test_privileges_changed_from_a_shell_are_audited(user):
    user.is_superuser = True
    user.save()
    User.objects.filter(pk=user.pk).update(is_staff=True)
    User.objects.filter(pk=user.pk).update(is_staff=True)  # no change: no event
    shell_save, shell_update = events_of(account_events.PRIVILEGES_CHANGED)
    assert shell_save.details == {"is_superuser": {"from": False, "to": True}} and shell_save.actor_id is None
    assert shell_update.details == {"is_staff": {"from": False, "to": True}}


def test_an_address_changed_by_a_queryset_update_follows_the_rule(user):
    User.objects.filter(pk=user.pk).update(email="alice.moved@example.com")
    user.refresh_from_db()
    assert user.email_verified_at is None
    assert len(events_of(account_events.EMAIL_CHANGED)) == 1
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]


def test_a_name_changed_over_the_api_is_audited_with_the_client(user):
    tokens = login(APIClient())
    response = APIClient().patch("/api/auth/me/", {"name": "Alice L."}, format="json", REMOTE_ADDR="198.51.100.8",
                                 **bearer(tokens["access"]))
    assert response.status_code == 200
    [event] = events_of(account_events.PROFILE_UPDATED)
    assert event.user_id == user.pk and event.actor_id is None and event.ip_address == "198.51.100.8"
