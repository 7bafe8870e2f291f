"""Login (docs/security.md 8-10): one generic 401 for unknown email, wrong password and inactive account, with
the same cost (one Argon2 hash) in every case; `email_not_verified` only once the password is proven; a new
server-chosen session on every login; the documented response shape."""
import uuid

import pytest

from accounts import events as account_events
from accounts.hashers import Argon2idPasswordHasher
from accounts.testing import login
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app.models import Session
from sessions_app.tests.helpers import claims

pytestmark = pytest.mark.django_db

USER_FIELDS = {"id", "email", "name", "email_verified", "date_joined", "language"}


def post_login(api, email: str = "alice@example.com", password: str = PASSWORD, **fields):
    return api.post("/api/auth/login/", {"email": email, "password": password, **fields})


@pytest.fixture
def hash_calls(monkeypatch):
    """Counts every Argon2 hash computed (encode for a new hash, verify against a stored one)."""
    calls: list[str] = []
    encode, verify = Argon2idPasswordHasher.encode, Argon2idPasswordHasher.verify

    def counting_encode(self, password, salt):
        calls.append("encode")
        return encode(self, password, salt)

    def counting_verify(self, password, encoded):
        calls.append("verify")
        return verify(self, password, encoded)

    monkeypatch.setattr(Argon2idPasswordHasher, "encode", counting_encode)
    monkeypatch.setattr(Argon2idPasswordHasher, "verify", counting_verify)
    return calls


# --- success --------------------------------------------------------------------------------------------
def test_login_response_shape(api, user):
    body = login(api)
    assert set(body) == {"access", "refresh", "token_type", "expires_in", "session_id", "user"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert set(body["user"]) == USER_FIELDS
    assert body["user"] == {
        "id": str(user.id), "email": "alice@example.com", "name": "", "email_verified": True,
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"), "language": "",
    }
    assert claims(body["access"])["sid"] == body["session_id"]
    assert api.get("/api/auth/me/", **bearer(body["access"])).json() == body["user"]


def test_every_login_opens_a_new_session(api, user):
    first, second = login(api), login(api)
    assert first["session_id"] != second["session_id"]
    assert first["refresh"] != second["refresh"]
    assert Session.objects.alive().filter(user=user).count() == 2
    assert uuid.UUID(first["session_id"]).version == 4


def test_a_client_supplied_session_id_is_ignored(api, user):
    chosen = str(uuid.uuid4())
    existing = login(api)["session_id"]
    for supplied in (chosen, existing):
        response = post_login(api, session_id=supplied, sid=supplied, id=supplied)
        assert response.status_code == 200
        assert response.json()["session_id"] not in (chosen, existing)
    assert not Session.objects.filter(pk=chosen).exists()
    assert Session.objects.filter(user=user).count() == 3


def test_a_successful_login_costs_one_hash_and_is_recorded(api, user, hash_calls):
    body = login(api)
    assert hash_calls == ["verify"]
    event = SecurityEvent.objects.get(kind=account_events.LOGIN_SUCCESS)
    assert event.user == user and str(event.session_id) == body["session_id"]


# --- failures look the same and cost the same ---------------------------------------------------------
@pytest.fixture
def failures(api, make_user):
    """The three failed logins that must be indistinguishable, as {case: response}."""
    make_user("alice@example.com")
    make_user("sleepy@example.com", is_active=False)

    def attempt():
        return {
            "wrong_password": post_login(api, "alice@example.com", "not the right password"),
            "unknown_email": post_login(api, "nobody@example.com", PASSWORD),
            "inactive_account": post_login(api, "sleepy@example.com", PASSWORD),
        }

    return attempt


def test_failures_are_byte_identical_401s(failures):
    responses = failures()
    bodies = {case: response.content for case, response in responses.items()}
    assert len(set(bodies.values())) == 1, bodies
    for response in responses.values():
        assert_error(response, 401, "invalid_credentials")
    headers = {case: sorted((k, v) for k, v in response.items() if k not in ("Date", "X-Request-ID"))
               for case, response in responses.items()}
    assert len({tuple(value) for value in headers.values()}) == 1, headers


@pytest.mark.parametrize("case", ["wrong_password", "unknown_email", "inactive_account"])
def test_each_failure_costs_exactly_one_hash(api, make_user, hash_calls, case):
    make_user("alice@example.com")
    make_user("sleepy@example.com", is_active=False)
    hash_calls.clear()
    email, password = {
        "wrong_password": ("alice@example.com", "not the right password"),
        "unknown_email": ("nobody@example.com", PASSWORD),
        "inactive_account": ("sleepy@example.com", PASSWORD),
    }[case]

    assert post_login(api, email, password).status_code == 401

    # An unknown email still runs the hasher once (encode of a throwaway), as a known one does (verify).
    assert len(hash_calls) == 1, hash_calls


def test_failures_name_the_attacked_account_to_operators_only(failures):
    """The answers are identical (above); the audit records say which account each attempt was on: its
    user when one exists, and always the keyed hash of the address (accounts/tests/test_login_fail_events.py)."""
    failures()
    events = SecurityEvent.objects.filter(kind=account_events.LOGIN_FAIL).order_by("pk")
    assert [event.user.email if event.user else None for event in events] == [
        "alice@example.com", None, "sleepy@example.com"]
    assert all(len(event.details["account"]) == 32 for event in events)


# --- unverified email -----------------------------------------------------------------------------------
def test_unverified_email_with_the_right_password_is_403(api, make_user):
    make_user("new@example.com", verified=False)
    response = post_login(api, "new@example.com", PASSWORD)
    assert_error(response, 403, "email_not_verified")
    assert "access" not in response.json() and not Session.objects.exists()


def test_unverified_email_with_a_wrong_password_is_the_generic_401(api, make_user, failures):
    make_user("new@example.com", verified=False)
    generic = failures()["unknown_email"].content
    response = post_login(api, "new@example.com", "not the right password")
    assert_error(response, 401, "invalid_credentials")
    assert response.content == generic


def test_login_is_no_store(api, user):
    response = post_login(api)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert post_login(api, password="wrong password here")["Cache-Control"] == "no-store"
