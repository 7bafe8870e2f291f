"""A failed login names the account that was attacked, for operators (the user when it exists, and always a
keyed hash of the address), while the client's answer stays the same for every case."""
import pytest

from accounts import events
from accounts.login_throttle import account_key
from authcore.models import SecurityEvent
from authcore.testing import assert_error

pytestmark = pytest.mark.django_db


def fail(api, email):
    return assert_error(api.post("/api/auth/login/", {"email": email, "password": "wrong password here"},
                                 format="json"), 401, "invalid_credentials")


def test_a_failure_on_an_existing_account_names_its_user(api, user):
    fail(api, "ALICE@example.com")

    event = SecurityEvent.objects.get(kind=events.LOGIN_FAIL)
    assert event.user == user
    assert event.details["account"] == account_key("alice@example.com")


def test_a_failure_on_an_unknown_address_is_grouped_by_a_keyed_hash(api, user):
    fail(api, "nobody@example.com")
    fail(api, "Nobody@Example.com")

    failures = SecurityEvent.objects.filter(kind=events.LOGIN_FAIL)
    assert [event.user for event in failures] == [None, None]
    keys = {event.details["account"] for event in failures}
    assert keys == {account_key("nobody@example.com")}
    # A keyed hash, not the address, and not a plain hash of it either.
    assert not any("nobody" in str(event.details) for event in failures)


def test_the_answers_do_not_differ(api, user):
    known = fail(api, "alice@example.com")
    unknown = fail(api, "nobody@example.com")
    assert known == unknown
