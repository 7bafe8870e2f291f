"""Two admin rules: an operator cannot deactivate their own account (service, action and form alike), and a
user's email changed in the admin is unverified again until its owner proves it."""
from django.test import Client
import pytest

from accounts import events as account_events
from accounts.flows import deactivation
from accounts.models import User
from accounts.testing import login
from authcore.errors import ServiceError
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, bearer
from sessions_app.models import Session

from .test_admin_users import api_rejects, change_form_data, change_url, messages_of

pytestmark = pytest.mark.django_db

OPERATOR = "operator@example.com"


def api_accepts(api, tokens: dict) -> bool:
    return api.get("/api/auth/me/", **bearer(tokens["access"])).status_code == 200


@pytest.fixture
def operator(make_user):
    return make_user(OPERATOR, is_staff=True, is_superuser=True)


@pytest.fixture
def operator_browser(operator) -> Client:
    browser = Client()
    browser.force_login(operator)
    return browser


# --- deactivating oneself --------------------------------------------------------------------------------------
def test_the_service_refuses_to_deactivate_the_actor_themselves(api, user):
    tokens = login(api)

    with pytest.raises(ServiceError) as raised:
        deactivation.deactivate_user(user=user, actor=user)

    assert raised.value.code == "permission_denied"
    user.refresh_from_db()
    assert user.is_active
    assert api_accepts(api, tokens)
    assert Session.objects.get(pk=tokens["session_id"]).revoked_at is None
    assert not SecurityEvent.objects.filter(kind=account_events.USER_DEACTIVATED).exists()


def test_the_operators_own_change_form_shows_active_read_only(operator_browser, operator, user):
    own = operator_browser.get(change_url(operator))
    other = operator_browser.get(change_url(user))

    assert "is_active" not in own.context["adminform"].form.fields
    assert "is_active" in own.context["adminform"].readonly_fields
    assert 'name="is_active"' not in own.content.decode()
    assert "is_active" in other.context["adminform"].form.fields  # only one's own account is protected


def test_posting_active_unticked_for_oneself_leaves_the_account_active(api, operator_browser, operator):
    tokens = login(api, OPERATOR)
    data = change_form_data(operator_browser.get(change_url(operator)))
    data.pop("is_active", None)  # as a hand-made POST without the box would be

    response = operator_browser.post(change_url(operator), data)

    assert response.status_code == 302, response.content
    operator.refresh_from_db()
    assert operator.is_active
    assert api_accepts(api, tokens)
    assert not SecurityEvent.objects.filter(kind=account_events.USER_DEACTIVATED).exists()


def test_another_operator_can_deactivate_them(admin_client, admin_user, api, operator):
    tokens = login(api, OPERATOR)
    data = change_form_data(admin_client.get(change_url(operator)))
    del data["is_active"]

    response = admin_client.post(change_url(operator), data, follow=True)

    assert f"Deactivated {OPERATOR} and ended 1 session." in messages_of(response)
    operator.refresh_from_db()
    assert not operator.is_active
    assert api_rejects(api, tokens)
    event = SecurityEvent.objects.get(kind=account_events.USER_DEACTIVATED)
    assert (event.user_id, event.actor_id) == (operator.pk, admin_user.pk)


# --- changing the email ----------------------------------------------------------------------------------------
def test_changing_the_email_in_the_admin_clears_verification(admin_client, api, user):
    data = {**change_form_data(admin_client.get(change_url(user))), "email": "alice.new@example.com"}

    response = admin_client.post(change_url(user), data)

    assert response.status_code == 302, response.content
    user.refresh_from_db()
    assert user.email == "alice.new@example.com"
    assert user.email_verified_at is None and not user.email_verified
    refused = api.post("/api/auth/login/", {"email": "alice.new@example.com", "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["code"] == "email_not_verified"


def test_saving_without_changing_the_email_keeps_it_verified(admin_client, api, user):
    verified_at = user.email_verified_at
    data = {**change_form_data(admin_client.get(change_url(user))), "name": "Alice Liddell"}

    response = admin_client.post(change_url(user), data)

    assert response.status_code == 302, response.content
    user.refresh_from_db()
    assert user.name == "Alice Liddell" and user.email_verified_at == verified_at
    assert api_accepts(api, login(api))


def test_retyping_the_same_address_in_another_spelling_keeps_it_verified(admin_client, api, user):
    """The rule is the account service's (rules.email_address_changed), not the admin's: an address
    that canonicalises to the stored one is not a new address."""
    verified_at = user.email_verified_at
    data = {**change_form_data(admin_client.get(change_url(user))), "email": "ALICE@\uff45xample.com"}

    assert admin_client.post(change_url(user), data).status_code == 302
    user.refresh_from_db()
    assert user.email_verified_at == verified_at


def test_an_unverified_user_stays_unverified_when_the_email_changes(admin_client, make_user):
    bob = make_user("bob@example.com", verified=False)
    data = {**change_form_data(admin_client.get(change_url(bob))), "email": "robert@example.com"}

    assert admin_client.post(change_url(bob), data).status_code == 302
    assert User.objects.get(pk=bob.pk).email_verified_at is None


def test_a_new_address_saved_from_a_shell_is_unverified_and_canonical(user):
    """The rule is the model's, whoever saves: not only the admin."""
    user.email = "Alice.New@\uff45xample.com"
    user.save()

    user.refresh_from_db()
    assert user.email == "Alice.New@example.com" and user.email_verified_at is None
