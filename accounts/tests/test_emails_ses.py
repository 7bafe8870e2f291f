"""Emails through the production path: django-ses -> boto3 -> SES (moto, in process). The links in the
delivered messages are followed through the API and the browser pages."""
import logging

import boto3
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
import pytest

from accounts import emails
from accounts.api.views import PasswordResetRequestView
from authcore.testing import PASSWORD, login

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


@pytest.fixture(autouse=True)
def _no_held_emails_left_behind():
    # These tests send request_started by hand: whatever an earlier test left held on this thread goes
    # first, and a test that fails half-way must not leave jobs held for the next one.
    emails.release_jobs_after_response()
    yield
    emails.release_jobs_after_response()


def _reset_request(email: str):
    """POST /api/auth/password-reset/ the way the WSGI handler runs it, stopping short of
    request_finished (which the server sends once it has written and closed the response)."""
    request_started.send(sender=None)
    request = RequestFactory().post("/api/auth/password-reset/", {"email": email}, content_type="application/json")
    response = PasswordResetRequestView.as_view()(request)
    response.render()
    return response


def _response_sent() -> None:
    # Django's test client keeps the database connection open across requests the same way.
    request_finished.disconnect(close_old_connections)
    try:
        request_finished.send(sender=None)
    finally:
        request_finished.connect(close_old_connections)


def test_background_delivery_starts_only_after_the_response_is_sent(ses, user, settings):
    """The worker thread shares the interpreter with the request: an email rendered and sent while the
    response is still being produced would make a reset request for a known address slower than one for
    an unknown address. So no email work starts until the response has left."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EMAIL_DELIVERY": "background"}

    response = _reset_request("alice@example.com")

    assert response.status_code == 202
    emails.wait_for_background_emails()
    assert ses.messages == []  # committed and queued, but held while the response is ours
    _response_sent()
    emails.wait_for_background_emails()
    [message] = ses.messages
    assert message["Subject"] == "Reset your Auth Service password"
    assert "/accounts/password-reset/" in plain_text(message)


def test_known_and_unknown_addresses_do_the_same_work_in_the_request(ses, user, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EMAIL_DELIVERY": "background"}
    statements = {}
    for email in ("nobody@example.com", "alice@example.com"):
        with CaptureQueriesContext(connection) as queries:
            assert _reset_request(email).status_code == 202
        emails.wait_for_background_emails()
        assert ses.messages == []  # no email work in either request
        # The statements' shapes (parameters aside) are the same for both addresses.
        statements[email] = [query["sql"].split(" WHERE ")[0].split(" VALUES ")[0] for query in queries]
    assert statements["alice@example.com"] == statements["nobody@example.com"]
    _response_sent()
    emails.wait_for_background_emails()
    assert len(ses.messages) == 1  # only the known address gets an email, once its response has left


def test_emails_outside_a_request_leave_at_once(ses, user, settings):
    """A management command or the shell has no response to wait for."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EMAIL_DELIVERY": "background"}
    from accounts import services
    from authcore.requestmeta import ClientInfo

    services.request_password_reset(email="alice@example.com", client=ClientInfo())
    emails.wait_for_background_emails()
    assert len(ses.messages) == 1


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
