"""A password of any length costs bounded work. On every path that takes one (browser pages, API, admin
forms, management commands) a password longer than ACCOUNTS PASSWORD_MAX_LENGTH is refused with
`password_too_long` and nothing else: no other password check and no hasher ever sees more than
PASSWORD_MAX_LENGTH characters. That is observed by spying on the steps that do real work per character
(the blocklist's normalisation and repetition check, Django's similarity check, the hasher), not by timing.
"""
import builtins
from collections import defaultdict
import itertools

from django.contrib.auth import password_validation as django_password_validation
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
import pytest

from accounts import password_validation
from accounts.conf import app_settings
from accounts.hashers import Argon2idPasswordHasher
from accounts.models import User
from accounts.password_validation import PasswordBlocklistValidator, UserAttributeSimilarityValidator, _repeated_unit
from accounts.testing import login
from accounts.tokens import make_link_token, password_reset_tokens
from authcore.testing import PASSWORD, bearer

pytestmark = pytest.mark.django_db

# 2 MiB, and the worst case of the old repetition check (a backtracking regexp): every unit length
# matches almost to the end before failing on the last character.
OVER_LONG = "a" * (2 * 1024 * 1024 - 1) + "b"
GOOD_PASSWORD = "violet umbrellas drift over quiet harbours"
# Exactly at the cap (1024): accepted, and every character reaches the checks.
AT_THE_CAP = "".join(f"{n:04d} lantern " for n in range(120))[:1024]
TOO_LONG_MESSAGE = "This password is too long"


@pytest.fixture
def work(monkeypatch):
    """Records the length of every input that reached an expensive step, then calls the real step.

    An input over the cap fails the test at once: on the code before the fix it would otherwise spend
    minutes in the quadratic repetition check before the test could look at the record. List this fixture
    after those that create users (it would record their passwords being hashed too)."""
    lengths: dict[str, list[int]] = defaultdict(list)

    def spy(owner, name: str, text_position: int):
        real = getattr(owner, name)

        def recording(*args, **kwargs):
            size = len(args[text_position])
            lengths[name].append(size)
            assert size <= app_settings.PASSWORD_MAX_LENGTH, f"{name} was given {size} characters"
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, recording)

    spy(password_validation, "_normalise", 0)
    spy(password_validation, "_repeated_unit", 0)
    # Django's similarity check calls this with the password for every part of every user attribute,
    # before its SequenceMatcher.
    spy(django_password_validation, "exceeds_maximum_length_ratio", 0)
    # Methods: args[0] is the hasher, args[1] the password.
    spy(Argon2idPasswordHasher, "encode", 1)
    spy(Argon2idPasswordHasher, "verify", 1)
    return lengths


@pytest.fixture(autouse=True)
def large_bodies(settings):
    """Let 2 MiB passwords reach the forms and serializers. Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
    would stop two such fields, and the API's MAX_JSON_BODY_BYTES (64 KiB) any one, before they get
    there; the password cap must hold whatever a host project sets those to."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024
    settings.AUTHCORE = {**settings.AUTHCORE, "MAX_JSON_BODY_BYTES": 8 * 1024 * 1024}


def longest(work) -> int:
    return max(itertools.chain.from_iterable(work.values()), default=0)


def error_codes(form) -> dict[str, list[str]]:
    return {field: [error.code for error in errors] for field, errors in form.errors.as_data().items()}


def api_field_errors(response) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    return [(error["field"], error["code"]) for error in body["errors"]]


# --- the repetition check -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "unit"), [
    ("dragondragondragon", "dragon"), ("abab", "ab"), ("aaaa", "a"), ("aabaab", "aab"),
    ("123123", "123"), ("éaéaéa", "éa"),
])
def test_repeated_unit_finds_the_shortest_unit(text, unit):
    assert _repeated_unit(text) == unit


@pytest.mark.parametrize("text", ["", "a", "dragon", "dragondragondrago", "abcabcab", "aab", "abba"])
def test_text_that_is_no_repetition_comes_back_unchanged(text):
    assert _repeated_unit(text) == text


def test_repeated_unit_agrees_with_its_definition_on_every_short_string():
    """The shortest u with text == u * k for some k >= 2, else text itself (what r"(.+?)\\1+" matched)."""
    def by_definition(text: str) -> str:
        n = len(text)
        return next((text[:k] for k in range(1, n) if n % k == 0 and text[:k] * (n // k) == text), text)

    for length in range(13):
        for letters in itertools.product("ab", repeat=length):
            text = "".join(letters)
            assert _repeated_unit(text) == by_definition(text), text


# --- the validators bound themselves (Django's forms and commands call validate_password directly) --------------
def test_validate_password_answers_an_over_long_password_with_password_too_long_only(work, user):
    with pytest.raises(ValidationError) as error:
        validate_password(OVER_LONG, user)
    assert [e.code for e in error.value.error_list] == ["password_too_long"]
    assert longest(work) <= app_settings.PASSWORD_MAX_LENGTH


def test_the_expensive_validators_skip_an_over_long_password(user, work):
    PasswordBlocklistValidator().validate(OVER_LONG, user)
    UserAttributeSimilarityValidator(user_attributes=("email", "name")).validate(OVER_LONG, user)
    assert longest(work) == 0


def test_the_validators_still_check_a_password_at_the_cap(work, user):
    """The bound is no loophole: at exactly the cap every character is checked, and the rules still apply."""
    common_at_the_cap = "Dragon! " * 128  # 1024 characters: "dragon", repeated and disguised
    with pytest.raises(ValidationError) as error:
        validate_password(common_at_the_cap, user)
    assert [e.code for e in error.value.error_list] == ["password_too_common"]
    similar = "alice@example.com"
    with pytest.raises(ValidationError) as error:
        UserAttributeSimilarityValidator(user_attributes=("email",)).validate(similar, user)
    assert error.value.code == "password_too_similar"
    assert app_settings.PASSWORD_MAX_LENGTH in work["_normalise"]


# --- browser pages ------------------------------------------------------------------------------------------
def test_register_page_refuses_an_over_long_password_at_once(work):
    response = Client().post("/accounts/register/", {"email": "new@example.com", "password": OVER_LONG})
    assert response.status_code == 200
    assert error_codes(response.context["form"]) == {"password": ["password_too_long"]}
    assert TOO_LONG_MESSAGE in response.content.decode()
    assert not User.objects.exists()
    assert longest(work) <= app_settings.PASSWORD_MAX_LENGTH


def test_register_page_accepts_a_password_at_the_cap(work):
    response = Client().post("/accounts/register/", {"email": "new@example.com", "password": AT_THE_CAP})
    assert (response.status_code, response["Location"]) == (302, "/accounts/register/sent/")
    assert User.objects.get().check_password(AT_THE_CAP)
    # The spies are live: the whole password went through the checks and the hasher.
    assert len(AT_THE_CAP) in work["_normalise"] and len(AT_THE_CAP) in work["encode"]


def test_the_browser_cap_follows_the_setting(work, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "PASSWORD_MAX_LENGTH": 40}
    response = Client().post("/accounts/register/", {"email": "new@example.com", "password": GOOD_PASSWORD})
    assert len(GOOD_PASSWORD) == 42
    assert error_codes(response.context["form"]) == {"password": ["password_too_long"]}
    assert longest(work) <= 40


def test_reset_page_refuses_an_over_long_password_at_once_and_keeps_the_link(work, user):
    browser = Client()
    browser.get(f"/accounts/password-reset/{make_link_token(password_reset_tokens, user)}/")

    refused = browser.post("/accounts/password-reset/new-password/", {"new_password": OVER_LONG})

    assert refused.status_code == 200
    assert error_codes(refused.context["form"]) == {"new_password": ["password_too_long"]}
    assert longest(work) <= app_settings.PASSWORD_MAX_LENGTH
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    accepted = browser.post("/accounts/password-reset/new-password/", {"new_password": GOOD_PASSWORD})
    assert accepted.status_code == 302


# --- API ------------------------------------------------------------------------------------------------------
def test_api_register_refuses_an_over_long_password(api, work):
    response = api.post("/api/auth/register/", {"email": "new@example.com", "password": OVER_LONG})
    assert api_field_errors(response) == [("password", "password_too_long")]
    assert not User.objects.exists()
    assert longest(work) <= app_settings.PASSWORD_MAX_LENGTH


def test_api_login_refuses_an_over_long_password_before_hashing(api, user, work):
    response = api.post("/api/auth/login/", {"email": user.email, "password": OVER_LONG})
    assert api_field_errors(response) == [("password", "password_too_long")]
    assert longest(work) == 0


def test_api_change_password_refuses_an_over_long_password(api, work, user):
    tokens = login(api)
    response = api.post("/api/auth/change-password/", {"current_password": PASSWORD, "new_password": OVER_LONG},
                        **bearer(tokens["access"]))
    assert api_field_errors(response) == [("new_password", "password_too_long")]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert longest(work) <= app_settings.PASSWORD_MAX_LENGTH


def test_api_reset_confirm_refuses_an_over_long_password(api, work, user):
    token = make_link_token(password_reset_tokens, user)
    response = api.post("/api/auth/password-reset/confirm/", {"token": token, "new_password": OVER_LONG})
    assert api_field_errors(response) == [("new_password", "password_too_long")]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert longest(work) <= app_settings.PASSWORD_MAX_LENGTH


# --- admin ----------------------------------------------------------------------------------------------------
def test_admin_add_user_refuses_an_over_long_password_at_once(admin_client, work):
    response = admin_client.post(reverse("admin:accounts_user_add"), {
        "email": "dora@example.com", "usable_password": "true", "password1": OVER_LONG, "password2": OVER_LONG})
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert error_codes(form) == {"password1": ["password_too_long"], "password2": ["password_too_long"]}
    assert not User.objects.filter(email="dora@example.com").exists()
    assert longest(work) <= app_settings.PASSWORD_MAX_LENGTH


def test_admin_set_password_refuses_an_over_long_password(admin_client, work, user):
    response = admin_client.post(reverse("admin:auth_user_password_change", args=[user.pk]), {
        "usable_password": "true", "password1": OVER_LONG, "password2": OVER_LONG})
    assert response.status_code == 200
    # Django's own form: the password validators report it (MaximumLengthValidator), and the others skip it.
    assert error_codes(response.context["form"]) == {"password2": ["password_too_long"]}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert longest(work) <= app_settings.PASSWORD_MAX_LENGTH


def test_admin_own_password_change_refuses_an_over_long_password(make_user, work):
    operator = make_user("operator@example.com", is_staff=True)
    browser = Client()
    browser.force_login(operator)
    response = browser.post(reverse("admin:password_change"), {
        "old_password": PASSWORD, "new_password1": OVER_LONG, "new_password2": OVER_LONG})
    assert response.status_code == 200
    assert error_codes(response.context["form"]) == {"new_password2": ["password_too_long"]}
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)
    assert longest(work) <= app_settings.PASSWORD_MAX_LENGTH


def test_admin_login_refuses_an_over_long_password_before_hashing(admin_user, work):
    response = Client().post(reverse("admin:login"), {"username": admin_user.email, "password": OVER_LONG})
    assert response.status_code == 200
    assert error_codes(response.context["form"]) == {"password": ["password_too_long"]}
    assert longest(work) == 0


# --- management commands ------------------------------------------------------------------------------------
def test_changepassword_refuses_an_over_long_password(monkeypatch, work, user, capsys):
    monkeypatch.setattr("django.contrib.auth.management.commands.changepassword.Command._get_pass",
                        lambda self, prompt="Password: ": OVER_LONG)

    with pytest.raises(CommandError, match="after 3 attempts"):
        call_command("changepassword", user.email)

    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith(TOO_LONG_MESSAGE) for line in errors), errors
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert longest(work) <= app_settings.PASSWORD_MAX_LENGTH


class TTY:
    """createsuperuser prompts only when stdin is a terminal."""

    def isatty(self) -> bool:
        return True


def test_createsuperuser_refuses_an_over_long_password(monkeypatch, work, capsys):
    typed = iter([OVER_LONG, OVER_LONG, GOOD_PASSWORD, GOOD_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="Password: ": next(typed))
    questions = []
    # "Bypass password validation and create user anyway? [y/N]": no.
    monkeypatch.setattr(builtins, "input", lambda question="": questions.append(question) or "n")

    call_command("createsuperuser", interactive=True, email="root@example.com", stdin=TTY())

    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(TOO_LONG_MESSAGE), errors
    assert len(questions) == 1 and "Bypass password validation" in questions[0]
    assert User.objects.get(email="root@example.com").check_password(GOOD_PASSWORD)
    assert longest(work) <= app_settings.PASSWORD_MAX_LENGTH
