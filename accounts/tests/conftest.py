"""Fixtures of the accounts tests (the shared ones are in the root conftest.py)."""
from email import message_from_bytes, policy
from email.utils import parseaddr

import boto3
import pytest

from accounts.testing import use_email_backend


class SESOutbox:
    """What moto's in-process SES received, parsed back into MIME messages."""

    def __init__(self, backend) -> None:
        self.backend = backend

    @property
    def messages(self) -> list:
        return [message_from_bytes(raw.raw_data.encode() if isinstance(raw.raw_data, str) else raw.raw_data,
                                   policy=policy.default)
                for raw in self.backend.sent_messages]

    def verify_sender(self, address: str) -> None:
        boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress=parseaddr(address)[1])


@pytest.fixture
def ses(settings):
    """The real django-ses backend and boto3, talking to moto's SES in this process. The sender
    (DEFAULT_FROM_EMAIL) is a verified identity, as SES requires in production."""
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    use_email_backend(settings, "django_ses.SESBackend")
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_SES_REGION_NAME = "us-east-1"
    settings.AWS_SES_REGION_ENDPOINT = "email.us-east-1.amazonaws.com"
    # moto reports a send rate of 1/s; django-ses's auto-throttle would sleep between messages.
    settings.AWS_SES_AUTO_THROTTLE = None
    with mock_aws():
        outbox = SESOutbox(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"])
        outbox.verify_sender(settings.DEFAULT_FROM_EMAIL)
        yield outbox


@pytest.fixture
def register_user(db, api):
    """POST /api/auth/register/ and return the response."""
    def post(email: str = "new@example.com", password: str = "plum tree orbit cascade", **fields):
        return api.post("/api/auth/register/", {"email": email, "password": password, **fields})

    return post


@pytest.fixture
def home(user):
    """alice has logged in once, at home, on the client `home` (which keeps its device cookie). That first
    login sends no sign-in alert (test_sign_in_alerts.test_the_first_login_sends_no_alert)."""
    from django.core import mail
    from rest_framework.test import APIClient

    from .test_sign_in_alerts import HOME, log_in_from

    client = APIClient()
    client.first_login = log_in_from(HOME, client)
    mail.outbox.clear()
    return client
