"""Registration: POST /api/auth/register/ and accounts.flows.registration.register."""
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
import pytest

from accounts import events as account_events
from accounts.flows import registration
from authcore.models import SecurityEvent
from authcore.requestmeta import ClientInfo
from authcore.testing import PASSWORD
from sessions_app.models import Session

from .helpers import emails_to, only_email_to, token_in

# Transactional: emails leave on commit, so the tests need real commits to see them.
pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()
NEW_PASSWORD = "plum tree orbit cascade"


def test_register_creates_an_unverified_account_and_emails_a_link(register_user):
    response = register_user(email="New@Example.COM", name="Nina")

    assert response.status_code == 202
    assert response.json() == {"detail": "Check your email: we sent a link to finish setting up your account."}
    user = User.objects.get()
    assert (user.email, user.name, user.email_verified) == ("New@example.com", "Nina", False)
    assert user.check_password(NEW_PASSWORD)
    assert SecurityEvent.objects.filter(kind=account_events.USER_REGISTERED, user=user).count() == 1
    message = only_email_to("New@example.com")
    assert message.subject == "Verify your email address for Auth Service"
    assert "/accounts/verify-email/" in message.body


def test_register_logs_nobody_in(register_user):
    response = register_user()
    assert "access" not in response.json() and "refresh" not in response.json()
    assert not Session.objects.exists()


def test_existing_address_gets_the_same_answer_and_its_owner_a_notice(register_user, make_user):
    owner = make_user(email="owner@example.com")
    new = register_user(email="fresh@example.com")
    existing = register_user(email="OWNER@example.com", password="another quite long passphrase")

    assert (existing.status_code, existing.content) == (new.status_code, new.content)
    assert User.objects.with_email("owner@example.com").count() == 1
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)  # untouched
    notice = only_email_to("owner@example.com")
    assert notice.subject == "Someone tried to register with your address at Auth Service"
    # The notice points to a password reset, never to a verification link (pre-hijacking).
    assert "/verify-email/" not in notice.body
    assert "/accounts/password-reset/" in notice.body


def test_weak_password_is_refused_alike_for_new_and_existing_addresses(register_user, make_user):
    make_user(email="owner@example.com")
    for_new = register_user(email="fresh@example.com", password="password")
    for_existing = register_user(email="owner@example.com", password="password")

    assert for_new.status_code == 400
    assert for_new.json() == for_existing.json()
    codes = {error["code"] for error in for_new.json()["errors"]}
    assert {"password_too_short", "password_too_common"} <= codes
    assert len(mail.outbox) == 0


def test_password_is_compared_with_the_new_users_own_email(register_user):
    response = register_user(email="marguerite.dupont@example.com", password="marguerite rides bicycles daily")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "password", "code": "password_contains_context",
                                          "message": "This password contains the name of this service or of "
                                                     "your email address."}]


def test_password_is_used_as_typed(register_user):
    register_user(password="  spaces around it stay  ")
    assert User.objects.get().check_password("  spaces around it stay  ")


@pytest.mark.parametrize("body, field", [
    ({"password": NEW_PASSWORD}, "email"),
    ({"email": "not-an-email", "password": NEW_PASSWORD}, "email"),
    ({"email": "a@example.com"}, "password"),
    ({"email": "a@example.com", "password": NEW_PASSWORD, "name": "n" * 151}, "name"),
])
def test_malformed_input_is_a_400_with_the_field(api, body, field):
    response = api.post("/api/auth/register/", body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in {error["field"] for error in response.json()["errors"]}


def test_without_enumeration_protection_new_is_201_and_taken_is_400(register_user, make_user, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ENUMERATION_PROTECTION": False}
    make_user(email="owner@example.com")

    created = register_user(email="fresh@example.com", name="Fresh")
    taken = register_user(email="Owner@Example.com")

    assert created.status_code == 201
    assert created.json()["email"] == "fresh@example.com"
    assert created.json()["email_verified"] is False
    assert taken.status_code == 400
    assert taken.json()["errors"] == [{"field": "email", "code": "email_taken",
                                       "message": "A user with this email already exists."}]
    assert emails_to("owner@example.com") == []


def test_verification_email_waits_for_the_commit():
    with transaction.atomic():
        registration.register(email="new@example.com", password=NEW_PASSWORD, client=ClientInfo())
        assert mail.outbox == []  # nothing leaves before the transaction commits
    assert len(emails_to("new@example.com")) == 1


def test_no_email_for_a_registration_that_is_rolled_back():
    with pytest.raises(RuntimeError), transaction.atomic():
        registration.register(email="new@example.com", password=NEW_PASSWORD, client=ClientInfo())
        raise RuntimeError("a later step of the surrounding transaction fails")
    assert mail.outbox == []
    assert not User.objects.exists()


def test_emailed_token_is_the_one_the_api_accepts(register_user, api):
    register_user()
    token = token_in(only_email_to("new@example.com").body)
    assert api.post("/api/auth/verify-email/", {"token": token}).status_code == 200


def test_a_broken_email_does_not_undo_the_registration(register_user, settings):
    """An email that cannot be rendered or sent is logged, and the committed account stays: the user can
    ask for the email again."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "VERIFY_EMAIL_URL_TEMPLATE": "https://app.example.com/v?t={token}"}
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [], "APP_DIRS": False}]  # no email templates at all
    response = register_user()
    assert response.status_code == 202
    assert User.objects.filter(email="new@example.com").exists()
    assert mail.outbox == []
