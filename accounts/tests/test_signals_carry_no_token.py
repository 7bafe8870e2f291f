"""No credential travels in a signal: a receiver connected by anyone (a host project's analytics, say)
sees the user and what happened, never a link token. The emailed links, minted when the emails are
rendered, still work."""
import pytest

from accounts import signals
from accounts.tests.helpers import only_email_to, token_in

pytestmark = pytest.mark.django_db

SIGNALS = [signals.user_registered, signals.verification_email_requested, signals.email_verified,
           signals.password_changed, signals.password_reset_requested,
           signals.registration_attempted_for_existing_email]


@pytest.fixture
def received():
    seen = []

    def receiver(sender, signal, **kwargs):
        seen.append((signal, kwargs))

    for signal in SIGNALS:
        signal.connect(receiver, dispatch_uid="test-signals-carry-no-token")
    yield seen
    for signal in SIGNALS:
        signal.disconnect(dispatch_uid="test-signals-carry-no-token")


def test_registration_resend_and_reset_send_no_token(api, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/auth/register/", {"email": "new@example.com", "password": "plum tree orbit cascade"},
                 format="json")
        api.post("/api/auth/verify-email/resend/", {"email": "new@example.com"}, format="json")
        api.post("/api/auth/password-reset/", {"email": "new@example.com"}, format="json")

    names = {signals.user_registered, signals.verification_email_requested, signals.password_reset_requested}
    assert names <= {signal for signal, _ in received}
    for _, kwargs in received:
        assert set(kwargs) <= {"user", "reason"}, kwargs
        assert not any(isinstance(value, str) and "-" in value and "." in value for value in kwargs.values())


def test_the_links_minted_at_render_time_work(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/auth/register/", {"email": "new@example.com", "password": "plum tree orbit cascade"},
                 format="json")
    token = token_in(only_email_to("new@example.com").body)
    assert api.post("/api/auth/verify-email/", {"token": token}, format="json").status_code == 200
