"""Password reset: request, the emailed token, confirm; sessions end, nobody is logged in."""
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.utils import timezone
import pytest
import time_machine

from accounts import events as account_events
from accounts.flows import passwords
from accounts.testing import login
from accounts.tokens import make_link_token, password_reset_tokens
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, bearer
from sessions_app.models import Session

from .helpers import emails_to, link_in, only_email_to, token_in

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()
NEW = "violet harbour lantern mosaic"


def request_reset(api, email="alice@example.com"):
    return api.post("/api/auth/password-reset/", {"email": email})


def confirm(api, token, new_password=NEW):
    return api.post("/api/auth/password-reset/confirm/", {"token": token, "new_password": new_password})


def emailed_token(api, email="alice@example.com"):
    request_reset(api, email)
    return token_in(emails_to(email)[-1].body)


def test_request_answers_the_same_for_every_address(api, user, make_user):
    make_user(email="off@example.com", is_active=False)
    answers = [request_reset(api, email) for email in
               ("alice@example.com", "ALICE@example.com", "nobody@example.com", "off@example.com")]
    assert answers[0].status_code == 202
    assert answers[0].json() == {"detail": "If this address belongs to an account, we sent it a link to reset "
                                           "the password."}
    assert len({(a.status_code, a.content) for a in answers}) == 1
    assert [m.to for m in mail.outbox] == [["alice@example.com"], ["alice@example.com"]]
    # The same work for a known and an unknown address: one audit row each.
    assert SecurityEvent.objects.filter(kind=account_events.PASSWORD_RESET_REQUESTED).count() == 4


def test_reset_email(api, user):
    request_reset(api)
    message = only_email_to("alice@example.com")
    assert message.subject == "Reset your Auth Service password"
    assert link_in(message.body).startswith("http://testserver/accounts/password-reset/")
    assert "1 hour" in message.body
    html = message.alternatives[0][0]
    assert link_in(message.body) in html


def test_link_is_built_from_site_url_not_from_the_host_header(api, user, settings):
    settings.ALLOWED_HOSTS = ["*"]  # even where the Host header is not checked
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SITE_URL": "https://auth.example.com"}
    api.post("/api/auth/password-reset/", {"email": "alice@example.com"}, HTTP_HOST="evil.example.net")
    assert link_in(only_email_to("alice@example.com").body).startswith("https://auth.example.com/accounts/")


def test_spa_link_template(api, user, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "PASSWORD_RESET_URL_TEMPLATE": "https://app.example.com/reset#{token}"}
    request_reset(api)
    link = link_in(only_email_to("alice@example.com").body)
    assert link.startswith("https://app.example.com/reset#")
    assert confirm(api, link.partition("#")[2]).status_code == 200


def test_confirm_sets_the_password_ends_every_session_and_logs_nobody_in(api, user):
    first, second = login(api), login(api)
    token = emailed_token(api)

    response = confirm(api, token)

    assert response.status_code == 200
    assert set(response.json()) == {"detail"}  # no tokens
    assert not Session.objects.alive().exists()
    assert set(Session.objects.values_list("revoke_reason", flat=True)) == {account_events.PASSWORD_RESET_REASON}
    for old in (first, second):
        assert api.post("/api/auth/refresh/", {"refresh": old["refresh"]}).status_code == 401
        assert api.get("/api/auth/me/", **bearer(old["access"])).status_code == 401
    assert api.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD}).status_code == 401
    assert login(api, password=NEW)["access"]
    assert SecurityEvent.objects.filter(kind=account_events.PASSWORD_RESET, user=user).count() == 1


def test_confirm_sends_the_password_changed_notice(api, user):
    confirm(api, emailed_token(api))
    assert [m.subject for m in emails_to("alice@example.com")] == [
        "Reset your Auth Service password", "Your Auth Service password was reset"]


def test_token_works_once_and_the_first_reset_spends_every_other_link(api, user):
    with time_machine.travel(timezone.now() - timedelta(minutes=10)):
        older = emailed_token(api)
    newer = emailed_token(api)
    assert older != newer
    assert confirm(api, newer).status_code == 200
    for token in (newer, older):
        response = confirm(api, token, "another entirely new passphrase")
        assert (response.status_code, response.json()["code"]) == (400, "invalid_token")


def test_token_dies_when_the_user_logs_in(api, user):
    token = emailed_token(api)
    login(api)  # remembered the password after all: last_login changes, the link is spent
    assert confirm(api, token).json()["code"] == "invalid_token"


def test_token_dies_when_the_password_is_changed(api, user):
    token = emailed_token(api)
    tokens = login(api)
    api.post("/api/auth/change-password/", {"current_password": PASSWORD, "new_password": NEW},
             **bearer(tokens["access"]))
    assert confirm(api, token, "another entirely new passphrase").json()["code"] == "invalid_token"


def test_token_expires_after_one_hour(api, user):
    token = make_link_token(password_reset_tokens, user)
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        assert confirm(api, token).json()["code"] == "invalid_token"
    with time_machine.travel(timezone.now() + timedelta(minutes=59)):
        assert confirm(api, token).status_code == 200


def test_refused_password_does_not_spend_the_token(api, user):
    token = emailed_token(api)
    response = confirm(api, token, "password")
    assert response.status_code == 400
    assert {e["code"] for e in response.json()["errors"]} >= {"password_too_short", "password_too_common"}
    assert {e["field"] for e in response.json()["errors"]} == {"new_password"}
    assert confirm(api, token).status_code == 200


def test_inactive_account_cannot_reset(api, user):
    token = make_link_token(password_reset_tokens, user)
    user.is_active = False
    user.save()
    assert confirm(api, token).json()["code"] == "invalid_token"


def test_reset_proves_the_address_so_an_unverified_account_can_log_in(api, make_user):
    make_user(email="una@example.com", verified=False)
    confirm(api, emailed_token(api, "una@example.com"))
    assert login(api, "una@example.com", NEW)["access"]


def test_admin_sends_a_reset_email(api, user, make_user):
    admin = make_user(email="admin@example.com", is_staff=True)
    passwords.send_password_reset_email(user=user, actor=admin)
    event = SecurityEvent.objects.get(kind=account_events.PASSWORD_RESET_REQUESTED)
    assert (event.user, event.actor) == (user, admin)
    assert confirm(api, token_in(only_email_to("alice@example.com").body)).status_code == 200


def test_no_reset_email_when_the_transaction_rolls_back(user):
    with pytest.raises(RuntimeError), transaction.atomic():
        passwords.send_password_reset_email(user=user)
        raise RuntimeError
    assert mail.outbox == []


def test_password_change_sends_the_changed_notice(api, user):
    tokens = login(api)
    api.post("/api/auth/change-password/", {"current_password": PASSWORD, "new_password": NEW},
             **bearer(tokens["access"]))
    assert [m.subject for m in emails_to("alice@example.com")] == ["Your Auth Service password was changed"]
