"""Email verification: the emailed token, POST /api/auth/verify-email/, resend, and the 403 at login."""
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
import pytest
import time_machine

from accounts import events as account_events
from accounts.flows import verification
from accounts.testing import login
from accounts.tokens import email_verification_tokens, make_link_token, password_reset_tokens
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD
from sessions_app.models import Session

from .helpers import emails_to, only_email_to, token_in

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()


@pytest.fixture
def unverified(make_user):
    return make_user(email="una@example.com", verified=False)


def verify(api, token):
    return api.post("/api/auth/verify-email/", {"token": token})


def test_emailed_link_verifies_without_logging_in(api, register_user):
    register_user(email="new@example.com")
    token = token_in(only_email_to("new@example.com").body)

    response = verify(api, token)

    assert response.status_code == 200
    assert response.json() == {"detail": "Your email address is verified. You can log in now."}
    user = User.objects.get(email="new@example.com")
    assert user.email_verified
    assert not Session.objects.exists()  # no session, no tokens (NIST 800-63B §3.1.3.1)
    assert SecurityEvent.objects.filter(kind=account_events.EMAIL_VERIFIED, user=user).count() == 1
    welcome = emails_to("new@example.com")[-1]
    assert welcome.subject == "Welcome to Auth Service"
    assert login(api, "new@example.com", "plum tree orbit cascade")["access"]


def test_token_works_once(api, unverified):
    token = make_link_token(email_verification_tokens, unverified)
    assert verify(api, token).status_code == 200
    again = verify(api, token)
    assert again.status_code == 400
    assert again.json() == {"detail": "This link is invalid or has expired.", "code": "invalid_token"}


def test_token_expires_after_the_configured_lifetime(api, unverified):
    token = make_link_token(email_verification_tokens, unverified)
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        assert verify(api, token).json()["code"] == "invalid_token"
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        assert verify(api, token).status_code == 200


def test_lifetime_setting_is_honoured(api, unverified, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "VERIFY_EMAIL_TOKEN_LIFETIME": timedelta(minutes=10)}
    token = make_link_token(email_verification_tokens, unverified)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert verify(api, token).json()["code"] == "invalid_token"


def test_token_dies_when_the_address_changes(api, unverified):
    token = make_link_token(email_verification_tokens, unverified)
    unverified.email = "other@example.com"
    unverified.save()
    assert verify(api, token).json()["code"] == "invalid_token"
    assert not User.objects.get().email_verified


def _bad_tokens(user, other):
    good = make_link_token(email_verification_tokens, user)
    uid, _, hmac = good.partition(".")
    other_uid = make_link_token(email_verification_tokens, other).partition(".")[0]
    return {
        "garbage": "not-a-token",
        "empty uid": "." + hmac,
        "tampered hmac": good[:-1] + ("0" if good[-1] != "0" else "1"),
        "another user's uid": f"{other_uid}.{hmac}",
        "a reset token": make_link_token(password_reset_tokens, user),
        "bad base64": "!!!." + hmac,
        "too long": good + "a" * 200,
    }


def test_wrong_tokens_are_refused_alike(api, unverified, make_user):
    other = make_user(email="other@example.com", verified=False)
    for name, token in _bad_tokens(unverified, other).items():
        response = verify(api, token)
        assert (response.status_code, response.json()["code"]) in {(400, "invalid_token"), (400, "invalid")}, name
    assert not User.objects.filter(email_verified_at__isnull=False).exists()


def test_inactive_account_cannot_verify(api, make_user):
    user = make_user(email="gone@example.com", verified=False, is_active=False)
    assert verify(api, make_link_token(email_verification_tokens, user)).json()["code"] == "invalid_token"


def test_login_before_verification_is_403_and_resends_the_link_at_most_once_per_interval(api, unverified):
    first = api.post("/api/auth/login/", {"email": "una@example.com", "password": PASSWORD})
    second = api.post("/api/auth/login/", {"email": "una@example.com", "password": PASSWORD})

    assert first.status_code == second.status_code == 403
    assert first.json()["code"] == "email_not_verified"
    message = only_email_to("una@example.com")  # one email for two attempts
    assert verify(api, token_in(message.body)).status_code == 200
    assert login(api, "una@example.com", PASSWORD)["access"]


def test_resend_interval_is_configurable(api, unverified, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "VERIFY_EMAIL_RESEND_INTERVAL": timedelta(0)}
    for _ in range(2):
        api.post("/api/auth/login/", {"email": "una@example.com", "password": PASSWORD})
    assert len(emails_to("una@example.com")) == 2


def test_wrong_password_for_unverified_account_is_the_generic_401_and_sends_nothing(api, unverified):
    wrong = api.post("/api/auth/login/", {"email": "una@example.com", "password": "wrong password, but long"})
    unknown = api.post("/api/auth/login/", {"email": "nobody@example.com", "password": "wrong password, but long"})
    assert wrong.status_code == 401
    assert (wrong.status_code, wrong.content) == (unknown.status_code, unknown.content)
    assert mail.outbox == []


def test_resend_answers_the_same_for_every_address(api, unverified, make_user):
    make_user(email="done@example.com")  # already verified
    make_user(email="off@example.com", verified=False, is_active=False)
    answers = {
        email: api.post("/api/auth/verify-email/resend/", {"email": email})
        for email in ("una@example.com", "done@example.com", "off@example.com", "nobody@example.com")
    }
    assert {(r.status_code, r.content) for r in answers.values()} == {(answers["una@example.com"].status_code,
                                                                      answers["una@example.com"].content)}
    assert answers["una@example.com"].status_code == 202
    assert [m.to for m in mail.outbox] == [["una@example.com"]]
    assert verify(api, token_in(mail.outbox[0].body)).status_code == 200


def test_mark_email_verified_records_the_admin_and_welcomes_once(unverified, make_user):
    admin = make_user(email="admin@example.com", is_staff=True)
    assert verification.mark_email_verified(user=unverified, actor=admin) is True
    assert verification.mark_email_verified(user=unverified, actor=admin) is False

    event = SecurityEvent.objects.get(kind=account_events.EMAIL_VERIFIED)
    assert (event.user, event.actor) == (unverified, admin)
    assert [m.subject for m in emails_to("una@example.com")] == ["Welcome to Auth Service"]


def test_link_sent_before_an_admin_verified_the_address_is_spent(api, unverified):
    token = make_link_token(email_verification_tokens, unverified)
    verification.mark_email_verified(user=unverified)
    assert verify(api, token).json()["code"] == "invalid_token"
