"""Emails through django-ses -> boto3 -> SES (moto, in process), with the suite's immediate task backend
(the durable queue in front of it: test_email_queue.py). The links in the delivered messages are followed
through the API and the browser pages."""
import logging

import boto3
from django.contrib.auth import get_user_model
from django.test import Client
import pytest

from accounts.testing import login
from authcore.testing import PASSWORD

from .helpers import link_in, plain_text, token_in

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()


def test_verification_email_through_ses_and_its_link_works(api, ses, register_user):
    assert register_user(email="Ses.User@Example.com").status_code == 202

    [message] = ses.messages
    assert message["To"] == "Ses.User@example.com"  # the stored address, local part as typed
    assert message["Subject"] == "Verify your email address for Auth Service"
    assert set(ses.backend.sent_messages[0].destinations) == {"Ses.User@example.com"}
    html = message.get_body(preferencelist=("html",)).get_content()
    link = link_in(plain_text(message))
    assert link in html

    # Follow the link as a person would: the page shows a button, and its POST verifies.
    browser = Client()
    page = browser.get(link.removeprefix("http://testserver"), follow=True)
    assert page.status_code == 200
    assert "Verify my email address" in page.content.decode()
    assert not User.objects.get().email_verified
    assert browser.post(page.request["PATH_INFO"]).status_code == 200
    assert User.objects.get().email_verified
    assert login(api, "Ses.User@example.com", "plum tree orbit cascade")["access"]
    assert ses.messages[-1]["Subject"] == "Welcome to Auth Service"


def test_reset_email_through_ses_and_its_link_works(api, ses, user):
    assert api.post("/api/auth/password-reset/", {"email": "alice@example.com"}).status_code == 202
    [message] = ses.messages
    assert (message["To"], message["Subject"]) == ("alice@example.com", "Reset your Auth Service password")

    token = token_in(plain_text(message))
    response = api.post("/api/auth/password-reset/confirm/", {"token": token, "new_password": "marble fox quietly"})
    assert response.status_code == 200
    assert login(api, password="marble fox quietly")["access"]
    assert ses.messages[-1]["Subject"] == "Your Auth Service password was reset"


def test_failed_send_keeps_the_registration_and_logs_no_link(api, ses, register_user, caplog, settings):
    boto3.client("ses", region_name="us-east-1").delete_identity(
        Identity=settings.DEFAULT_FROM_EMAIL.partition("<")[2].rstrip(">"))  # SES now refuses the sender

    with caplog.at_level(logging.ERROR, logger="accounts.emails"):
        response = register_user(email="new@example.com")

    assert response.status_code == 202
    assert User.objects.filter(email="new@example.com").exists()
    assert ses.messages == []
    [record] = [r for r in caplog.records if r.name == "accounts.emails"]
    assert record.getMessage().startswith("Could not send the verify_email email to user ")
    logged = caplog.text
    assert "/accounts/verify-email/" not in logged and "token" not in logged.lower()

    # Once mail works again, the user simply asks for another link.
    ses.verify_sender(settings.DEFAULT_FROM_EMAIL)
    api.post("/api/auth/verify-email/resend/", {"email": "new@example.com"})
    token = token_in(plain_text(ses.messages[0]))
    assert api.post("/api/auth/verify-email/", {"token": token}).status_code == 200


def test_failed_notice_does_not_undo_a_password_change(api, ses, user, settings):
    """A password change whose notice email fails is still a committed change."""
    boto3.client("ses", region_name="us-east-1").delete_identity(
        Identity=settings.DEFAULT_FROM_EMAIL.partition("<")[2].rstrip(">"))
    tokens = login(api)
    response = api.post("/api/auth/change-password/", {"current_password": PASSWORD,
                                                       "new_password": "marble fox quietly"},
                        HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert response.status_code == 200
    assert login(api, password="marble fox quietly")["access"]
