"""Changes to a user that matter for security are audited by whatever path makes them (User.save and
UserQuerySet.update call rules.email_address_replaced and rules.user_fields_changed): an operator's
address change in the admin follows the self-service rule (an event naming the operator, a notice to the old
address, sessions kept), and granting or removing staff or superuser status and editing the name write an
event from the admin, a shell or the API."""
from django.core import mail
import pytest
from rest_framework.test import APIClient

from accounts import events as account_events
from accounts.models import User
from accounts.testing import login
from authcore.models import SecurityEvent
from authcore.testing import bearer
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

    granted, removed = [event for event in events_of(account_events.PRIVILEGES_CHANGED) if event.user_id == user.pk]
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


def test_an_unverified_address_corrected_by_an_operator_is_not_told(admin_client, make_user):
    """An address nobody proved may be a stranger's (a typo, a registration by someone else): the change is
    audited, but that mailbox hears nothing."""
    bob = make_user("bob@exmaple.com", verified=False, name="Bob")
    data = {**change_form_data(admin_client.get(change_url(bob))), "email": "bob@example.com"}
    assert admin_client.post(change_url(bob), data).status_code == 302
    [event] = events_of(account_events.EMAIL_CHANGED)
    assert event.details["previous_address_told"] is False
    assert [message for message in mail.outbox if "bob@exmaple.com" in message.to] == []


def test_a_registration_in_someone_elses_name_cannot_greet_them_by_it(settings, api, ses):
    """With login before verification allowed, someone registers a stranger's address with a name of their
    choosing, logs in and moves the account to their own address: the stranger is not told (never proven
    theirs), and no email to an unverified address greets by the name."""
    from .helpers import token_in

    settings.ACCOUNTS = {**settings.ACCOUNTS, "REQUIRE_VERIFIED_EMAIL": False}
    lure = "Call +1 555 0100 now"
    assert api.post("/api/auth/register/", {"email": "victim@example.com", "password": "plum tree orbit cascade",
                                            "name": lure}).status_code == 202
    tokens = login(APIClient(), email="victim@example.com", password="plum tree orbit cascade")
    assert APIClient().post("/api/auth/change-email/", {"password": "plum tree orbit cascade",
                                                         "new_email": "mallory@example.com"},
                            **bearer(tokens["access"])).status_code == 202
    confirmation = [m for m in ses.messages if m["To"] == "mallory@example.com"][-1]
    token = token_in(confirmation.get_body(preferencelist=("plain",)).get_content())
    assert APIClient().post("/api/auth/change-email/confirm/", {"token": token}).status_code == 200
    to_victim = [m for m in ses.messages if m["To"] == "victim@example.com"]
    assert to_victim  # the verification email went out
    assert all(lure not in m.get_body(preferencelist=("plain",)).get_content() for m in to_victim)
    assert not [m for m in to_victim if "changed" in m["Subject"]]


def test_groups_and_permissions_given_or_taken_are_audited_from_either_side(user):
    from django.contrib.auth.models import Group, Permission

    editors = Group.objects.create(name="editors")
    user.groups.add(editors)
    editors.user_set.remove(user)
    user.user_permissions.add(Permission.objects.get(codename="change_user"))
    user.user_permissions.clear()
    details = [event.details for event in events_of(account_events.PRIVILEGES_CHANGED)]
    assert details == [{"groups": {"added": ["editors"]}}, {"groups": {"removed": ["editors"]}},
                       {"user_permissions": {"added": ["Accounts | user | Can change user"]}},
                       {"user_permissions": {"removed": ["Accounts | user | Can change user"]}}]


def test_an_account_created_with_privileges_is_audited(make_user):
    User.objects.create_superuser("root@example.com", "correct horse battery staple")
    make_user("plain@example.com")  # created without privileges: nothing to record
    [event] = events_of(account_events.PRIVILEGES_CHANGED)
    assert event.user.email == "root@example.com"
    assert event.details == {"is_staff": {"from": False, "to": True}, "is_superuser": {"from": False, "to": True}}
