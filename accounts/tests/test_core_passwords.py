"""Password storage and policy (docs/security.md 1-5) and the password change (docs/security.md 33, the core part).

Argon2id first at the OWASP baseline, older hashes upgraded at login; 15 to 1024 characters, never
truncated or trimmed, no composition rules, Unicode and spaces welcome."""
import re

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, get_hasher, make_password
import pytest

from accounts import events as account_events
from accounts.testing import login
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app.tests.helpers import open_session

pytestmark = pytest.mark.django_db

ARGON2ID = re.compile(r"argon2\$argon2id\$v=19\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$[^$]+\$[^$]+")
NEW_PASSWORD = "violet tangerine harbour lantern"


def argon2_params(encoded: str) -> dict[str, int]:
    match = ARGON2ID.fullmatch(encoded)
    assert match, encoded
    return {key: int(value) for key, value in match.groupdict().items()}


def assert_at_least_owasp_baseline(encoded: str) -> None:
    params = argon2_params(encoded)
    assert params["m"] >= 19456 and params["t"] >= 2 and params["p"] >= 1, params


# --- storage -------------------------------------------------------------------------------------------
def test_argon2id_is_the_first_hasher_at_or_above_the_owasp_baseline(user):
    assert settings.PASSWORD_HASHERS[0] == "accounts.hashers.Argon2idPasswordHasher"
    assert get_hasher("default").algorithm == "argon2"
    assert_at_least_owasp_baseline(user.password)
    assert_at_least_owasp_baseline(make_password("anything at all"))


def test_a_pbkdf2_hash_is_upgraded_to_argon2id_at_login(api, make_user):
    user = make_user(password=None)
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    assert user.password.startswith("pbkdf2_sha256$")

    login(api)

    user.refresh_from_db()
    assert_at_least_owasp_baseline(user.password)
    assert user.check_password(PASSWORD)


class WeakArgon2Hasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 8192
    parallelism = 1


def test_a_weaker_argon2_hash_is_upgraded_at_login(api, make_user):
    user = make_user(password=None)
    user.password = make_password(PASSWORD, hasher=WeakArgon2Hasher())
    user.save(update_fields=["password"])
    assert argon2_params(user.password) == {"m": 8192, "t": 1, "p": 1}

    login(api)

    user.refresh_from_db()
    assert_at_least_owasp_baseline(user.password)


def test_a_failed_login_does_not_upgrade_the_hash(api, make_user):
    user = make_user(password=None)
    user.password = make_password(PASSWORD, hasher=WeakArgon2Hasher())
    user.save(update_fields=["password"])
    stored = user.password

    assert api.post("/api/auth/login/", {"email": user.email, "password": "not the password!"}).status_code == 401

    user.refresh_from_db()
    assert user.password == stored


# --- policy, through change-password --------------------------------------------------------------------
@pytest.fixture
def change(api, user):
    """POST change-password for `user` (password PASSWORD) from a fresh session; returns the response."""

    def change_(new_password: str, current_password: str = PASSWORD):
        tokens = open_session(user)
        return api.post("/api/auth/change-password/",
                        {"current_password": current_password, "new_password": new_password},
                        **bearer(tokens.access))

    return change_


def can_log_in(api, password: str, email: str = "alice@example.com") -> bool:
    response = api.post("/api/auth/login/", {"email": email, "password": password})
    assert response.status_code in (200, 401), response.content
    return response.status_code == 200


def field_errors(response) -> list[tuple[str, str]]:
    body = assert_error(response, 400, "invalid")
    return [(error["field"], error["code"]) for error in body["errors"]]


def test_shorter_than_15_characters_is_refused(change, user):
    response = change("plum orbit mes")  # 14
    assert field_errors(response) == [("new_password", "password_too_short")]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_15_characters_are_enough(change):
    assert change("plum orbit mesa").status_code == 200


def test_minimum_length_is_configurable(change, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {**validator, "OPTIONS": {"min_length": 20}} if validator["NAME"].endswith("MinimumLengthValidator")
        else validator
        for validator in settings.AUTH_PASSWORD_VALIDATORS
    ]
    assert field_errors(change("plum orbit mesa rai")) == [("new_password", "password_too_short")]  # 19
    assert change("plum orbit mesa rain").status_code == 200  # 20


def test_64_characters_are_accepted(api, change):
    password = "the quick brown violet tangerine harbours eleven silent lanterns"
    assert len(password) == 64
    assert change(password).status_code == 200
    assert can_log_in(api, password)


def test_1024_characters_are_accepted_and_never_truncated(api, change):
    password = "".join(f"{n:04d} lantern " for n in range(120))[:1024]
    assert len(password) == 1024
    assert change(password).status_code == 200
    assert can_log_in(api, password)
    # Every character counts: no prefix (bcrypt's 72 bytes, or 1023 characters) opens the account.
    assert not can_log_in(api, password[:72])
    assert not can_log_in(api, password[:-1])


def test_more_than_1024_characters_is_refused_not_truncated(api, change, user):
    response = change("x" * 1025)
    assert ("new_password", "password_too_long") in field_errors(response)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    # At login too: 400, not a hash of the first 1024 characters.
    response = api.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD + "x" * 1025})
    assert field_errors(response) == [("password", "password_too_long")]


def test_no_composition_rules(api, change):
    password = "lanterns harbour tangerines"  # lower case letters and spaces only
    assert change(password).status_code == 200
    assert can_log_in(api, password)


def test_unicode_and_spaces_are_allowed(api, change):
    password = "ünïcödé 🔑 pässwörd mit Leerzeichen"
    assert change(password).status_code == 200
    assert can_log_in(api, password)
    assert not can_log_in(api, password.replace("🔑", ""))


def test_a_trailing_space_is_part_of_the_password(api, change):
    password = "orchard lanterns at dusk"
    assert change(password + " ").status_code == 200
    assert can_log_in(api, password + " ")
    assert not can_log_in(api, password)
    assert not can_log_in(api, " " + password + " ")


def test_login_does_not_trim(api, user):
    assert not can_log_in(api, PASSWORD + " ")
    assert not can_log_in(api, " " + PASSWORD)
    assert can_log_in(api, PASSWORD)


# --- change password ------------------------------------------------------------------------------------
def test_wrong_current_password_is_400_password_incorrect(change, user):
    response = change(NEW_PASSWORD, current_password="not my password at all")
    body = assert_error(response, 400, "password_incorrect")
    assert "errors" not in body
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert SecurityEvent.objects.filter(kind=account_events.PASSWORD_CHANGE_FAIL, user=user).count() == 1


def test_current_password_is_used_exactly_as_typed(change, user):
    assert_error(change(NEW_PASSWORD, current_password=PASSWORD + " "), 400, "password_incorrect")
    assert_error(change(NEW_PASSWORD, current_password=PASSWORD.upper()), 400, "password_incorrect")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_weak_new_password_names_the_field_and_changes_nothing(api, change, user):
    other = open_session(user)
    response = change("short")
    assert field_errors(response) == [("new_password", "password_too_short")]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert api.get("/api/auth/me/", **bearer(other.access)).status_code == 200  # no session was ended


def test_success_returns_a_new_pair_and_stores_the_new_password(api, change, user):
    response = change(NEW_PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "token_type", "expires_in", "session_id"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert api.get("/api/auth/me/", **bearer(body["access"])).status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)
    assert_at_least_owasp_baseline(user.password)
    assert SecurityEvent.objects.filter(kind=account_events.PASSWORD_CHANGED, user=user).count() == 1


def test_change_password_needs_a_bearer_token(api, user):
    response = api.post("/api/auth/change-password/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert_error(response, 401, "not_authenticated")
