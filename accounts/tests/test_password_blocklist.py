"""The password blocklist (docs/security.md 6): common and breached passwords, and context words."""
import gzip

from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
import pytest

from accounts.models import User
from accounts.password_validation import DEFAULT_PASSWORD_LISTS, PasswordBlocklistValidator
from accounts.testing import login
from authcore.errors import FIELD_ERROR_CODES
from authcore.testing import PASSWORD, bearer

from .helpers import token_in

validator = PasswordBlocklistValidator()


def codes(password: str, user=None) -> set[str]:
    try:
        validator.validate(password, user)
    except ValidationError as error:
        return {e.code for e in error.error_list}
    return set()


@pytest.mark.parametrize("password", [
    "correct horse battery staple",  # famous from xkcd 936, therefore in every cracking list
    "Correct-Horse-Battery-Staple!",
    "passwordpassword",
    "Password123456789!",
    "2024dragon2024",
    "dragondragondragon",
    "qwertyuiopasdfgh",
    "1qaz2wsx3edc4rfv",
    "123456789012345",
    "000000000000000",
    "I love you so much!!",
    "iloveyoumorethananything",
    "manchester united",
    "Football Sunshine 99",
    "this is my password",
])
def test_common_passwords_are_refused(password):
    assert codes(password) == {"password_too_common"}


@pytest.mark.parametrize("password", [
    "purple elephant tap dances at midnight",
    "Zebra-Quantum-Marmalade-87",
    "Ünïcödé pässwörd with spaces ✓",
    "violet harbour lantern mosaic",
    "j8#Lq2!vR9m@Xw4z",
])
def test_uncommon_passwords_pass(password):
    assert codes(password) == set()


def test_context_words_are_refused():
    user = User(email="marguerite.dupont@example.com")
    assert codes("my name is marguerite, hello", user) == {"password_contains_context"}
    assert codes("dupont family holiday pictures", user) == {"password_contains_context"}
    assert codes("I love my AUTH SERVICE account") == {"password_contains_context"}
    # Short fragments are not context: "jo" of jo@example.com is in many words.
    assert codes("journey to the western mountains", User(email="jo@example.com")) == set()


def test_service_name_comes_from_the_setting(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SITE_NAME": "Acme Portal"}
    assert codes("welcome to acme-portal friends") == {"password_contains_context"}
    assert codes("my auth service secret phrase") == set()


def test_shipped_list_fits_the_length_policy():
    with gzip.open(DEFAULT_PASSWORD_LISTS[1], "rt", encoding="utf-8") as lines:
        entries = [line.strip() for line in lines if line.strip()]
    assert sum(len(entry) >= 15 for entry in entries) >= 5000
    assert len(validator.passwords) > 25000  # Django's 20,000 and ours


def test_validator_is_installed_and_its_codes_are_documented(settings):
    names = [v["NAME"] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert "accounts.password_validation.PasswordBlocklistValidator" in names
    with pytest.raises(ValidationError) as error:
        validate_password("qwertyuiopasdfgh")
    assert {e.code for e in error.value.error_list} <= set(FIELD_ERROR_CODES)
    assert {"password_too_common", "password_contains_context"} <= set(FIELD_ERROR_CODES)


@pytest.mark.django_db(transaction=True)
def test_register_change_and_reset_all_apply_the_blocklist(api, user):
    weak = "Correct Horse Battery Staple"
    registered = api.post("/api/auth/register/", {"email": "new@example.com", "password": weak})

    tokens = login(api)
    changed = api.post("/api/auth/change-password/", {"current_password": PASSWORD, "new_password": weak},
                       **bearer(tokens["access"]))

    api.post("/api/auth/password-reset/", {"email": "alice@example.com"})
    reset = api.post("/api/auth/password-reset/confirm/",
                     {"token": token_in(mail.outbox[-1].body), "new_password": weak})

    for response, field in ((registered, "password"), (changed, "new_password"), (reset, "new_password")):
        assert response.status_code == 400
        assert response.json()["errors"] == [{"field": field, "code": "password_too_common",
                                              "message": "This password is too common."}]
