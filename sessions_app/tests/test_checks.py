"""Start-up safety (docs/security.md 14-17): system checks refuse settings that weaken the tokens, and the
project refuses to start with DEBUG off and a missing or placeholder secret."""
from datetime import timedelta
import os
from pathlib import Path
import subprocess
import sys

from django.conf import settings
from django.test import override_settings
import pytest

from sessions_app.checks import check_jwt_settings, check_session_settings

PROJECT = Path(__file__).resolve().parents[2]
GOOD_KEY = "a-dedicated-jwt-signing-key-of-more-than-32-bytes"


def error_ids(messages) -> set[str]:
    return {message.id for message in messages if message.is_serious()}


def jwt(**changes) -> dict:
    return {**settings.SIMPLE_JWT, **changes}


SHARED_SECRET_SIGNS = {**settings.SESSIONS_APP, "SIGNING_ALGORITHM": "HS256"}


def test_the_project_settings_pass():
    assert error_ids(check_jwt_settings()) == set()
    assert error_ids(check_session_settings()) == set()


@pytest.mark.parametrize(("changes", "expected"), [
    ({"SIGNING_KEY": "short-key"}, "sessions_app.E002"),
    ({"SIGNING_KEY": "k" * 31}, "sessions_app.E002"),
    ({"SIGNING_KEY": ""}, "sessions_app.E002"),
    ({"ALGORITHM": "RS256"}, "sessions_app.E001"),
    ({"ALGORITHM": "none"}, "sessions_app.E001"),
    ({"AUDIENCE": None}, "sessions_app.E004"),
    ({"ISSUER": ""}, "sessions_app.E004"),
    ({"LEEWAY": 5}, "sessions_app.E005"),
    ({"LEEWAY": timedelta(seconds=1)}, "sessions_app.E005"),
    ({"USER_ID_CLAIM": "user_id"}, "sessions_app.E006"),
], ids=["short-key", "31-bytes", "empty-key", "rs256", "alg-none", "no-audience", "no-issuer", "leeway-int",
        "leeway-timedelta", "user-id-claim"])
def test_jwt_checks_refuse_weak_settings(changes, expected):
    with override_settings(SIMPLE_JWT=jwt(**changes), SESSIONS_APP=SHARED_SECRET_SIGNS):
        assert expected in error_ids(check_jwt_settings())


def test_the_shared_secret_is_checked_only_when_it_signs():
    with override_settings(SIMPLE_JWT=jwt(SIGNING_KEY="short-key")):
        assert "sessions_app.E002" not in error_ids(check_jwt_settings())


def test_signing_key_must_not_be_secret_key():
    with override_settings(SECRET_KEY=GOOD_KEY, SIMPLE_JWT=jwt(SIGNING_KEY=GOOD_KEY), SESSIONS_APP=SHARED_SECRET_SIGNS):
        assert "sessions_app.E003" in error_ids(check_jwt_settings())


def test_a_long_access_token_lifetime_is_warned_about():
    with override_settings(SIMPLE_JWT=jwt(ACCESS_TOKEN_LIFETIME=timedelta(hours=1))):
        assert "sessions_app.W001" in {message.id for message in check_jwt_settings()}


@pytest.mark.parametrize(("changes", "expected"), [
    ({"REFRESH_REUSE_GRACE": timedelta(seconds=61)}, "sessions_app.E012"),
    ({"REFRESH_REUSE_GRACE": timedelta(seconds=-1)}, "sessions_app.E012"),
    ({"UNKNOWN_SETTING": 1}, "sessions_app.E010"),
    ({"ABSOLUTE_LIFETIM": timedelta(days=1)}, "sessions_app.E010"),  # a typo is not silently ignored
    ({"ABSOLUTE_LIFETIME": timedelta(0)}, "sessions_app.E011"),
    ({"IDLE_TIMEOUT": timedelta(days=-1)}, "sessions_app.E011"),
], ids=["grace-61s", "grace-negative", "unknown-key", "typo", "zero-lifetime", "negative-idle"])
def test_session_checks_refuse_bad_settings(changes, expected):
    with override_settings(SESSIONS_APP={**settings.SESSIONS_APP, **changes}):
        assert expected in error_ids(check_session_settings())


def test_grace_of_60_seconds_is_the_maximum_allowed():
    with override_settings(SESSIONS_APP={**settings.SESSIONS_APP, "REFRESH_REUSE_GRACE": timedelta(seconds=60)}):
        assert error_ids(check_session_settings()) == set()


def test_idle_longer_than_absolute_is_warned_about():
    with override_settings(SESSIONS_APP={**settings.SESSIONS_APP, "IDLE_TIMEOUT": timedelta(days=60)}):
        assert "sessions_app.W010" in {message.id for message in check_session_settings()}


# --- refusing to start ----------------------------------------------------------------------------------
SECRET = "s" * 64
from config.settings_test import TEST_SIGNING_KEYS  # noqa: E402

DEV_SECRET = "dev-only-secret-key-never-use-in-production-0000000000000000"
DEV_JWT_KEY = "dev-only-jwt-signing-key-never-use-in-production-000000000000"


def start(**environment) -> subprocess.CompletedProcess:
    """Set up Django with the production settings module in a clean environment."""
    # ENV_FILE empty: a developer's .env (make run writes one, DEBUG on) must not stand in for what is tested.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "config.settings", "ENV_FILE": "",
           **environment}
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=60)


HS256 = {"JWT_SIGNING_ALGORITHM": "HS256"}


@pytest.mark.parametrize(("environment", "message"), [
    ({}, "SECRET_KEY must be set"),
    ({"SECRET_KEY": DEV_SECRET, "JWT_SIGNING_KEY": GOOD_KEY}, "SECRET_KEY must be set"),
    ({"SECRET_KEY": SECRET}, "JWT_SIGNING_KEYS must be set"),
    ({"SECRET_KEY": SECRET, "JWT_SIGNING_KEY": GOOD_KEY}, "JWT_SIGNING_KEYS must be set"),
    ({"SECRET_KEY": SECRET, **HS256}, "JWT_SIGNING_KEY must be set"),
    ({"SECRET_KEY": SECRET, "JWT_SIGNING_KEY": DEV_JWT_KEY, **HS256}, "JWT_SIGNING_KEY must be set"),
    ({"SECRET_KEY": SECRET, "JWT_SIGNING_KEY": "too-short", **HS256}, "JWT_SIGNING_KEY must be set"),
    ({"SECRET_KEY": SECRET, "JWT_SIGNING_KEY": SECRET, **HS256}, "JWT_SIGNING_KEY must differ from SECRET_KEY"),
], ids=["nothing", "dev-secret", "no-signing-keys", "only-the-shared-secret", "hs256-no-jwt-key", "dev-jwt-key",
        "short-jwt-key", "same-keys"])
def test_refuses_to_start_with_debug_off_and_missing_or_default_secrets(environment, message):
    result = start(**environment)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_starts_with_real_secrets():
    result = start(SECRET_KEY=SECRET, JWT_SIGNING_KEYS=TEST_SIGNING_KEYS, EMAIL_BACKEND="django_ses.SESBackend")
    assert result.returncode == 0, result.stderr
    # And with the shared secret, by choice.
    result = start(SECRET_KEY=SECRET, JWT_SIGNING_KEY=GOOD_KEY, EMAIL_BACKEND="django_ses.SESBackend", **HS256)
    assert result.returncode == 0, result.stderr


def test_refuses_to_start_with_debug_off_and_no_email_backend():
    """The console backend would print reset and verification links into production logs."""
    result = start(SECRET_KEY=SECRET, JWT_SIGNING_KEYS=TEST_SIGNING_KEYS)
    assert result.returncode != 0
    assert "EMAIL_BACKEND must be set" in result.stderr


def test_debug_uses_the_development_placeholders():
    assert start(DEBUG="true").returncode == 0


def test_atomic_requests_is_refused():
    """A request-wide transaction would roll back, with the error response, the end of a family whose
    refresh token was replayed; the flows commit on their own."""
    databases = {alias: {**config, "ATOMIC_REQUESTS": True} for alias, config in settings.DATABASES.items()}
    with pytest.warns(UserWarning, match="DATABASES"), override_settings(DATABASES=databases):
        assert "sessions_app.E013" in error_ids(check_session_settings())
    assert "sessions_app.E013" not in error_ids(check_session_settings())


BROWSER_MIDDLEWARE = "sessions_app.browser.BrowserSessionMiddleware"
# This project's: a subclass that the JSON API's requests go past (config.middleware.SkippedByTheAPI).
PROJECT_BROWSER_MIDDLEWARE = "config.middleware.BrowserSessionMiddleware"
WITHOUT_IT = [m for m in settings.MIDDLEWARE if m not in (BROWSER_MIDDLEWARE, PROJECT_BROWSER_MIDDLEWARE)]


@pytest.mark.parametrize("middleware", [
    WITHOUT_IT,  # missing: ended sessions stay signed in
    [BROWSER_MIDDLEWARE, *WITHOUT_IT],  # before authentication
    [PROJECT_BROWSER_MIDDLEWARE, *WITHOUT_IT],  # a subclass, before authentication
])
def test_the_browser_session_middleware_must_follow_authentication(middleware):
    with override_settings(MIDDLEWARE=middleware):
        assert "sessions_app.E018" in error_ids(check_session_settings())


@pytest.mark.parametrize("browser", [BROWSER_MIDDLEWARE, PROJECT_BROWSER_MIDDLEWARE])
@pytest.mark.parametrize("authentication", ["django.contrib.auth.middleware.AuthenticationMiddleware",
                                            "config.middleware.AuthenticationMiddleware"])
def test_the_middleware_or_a_subclass_after_authentication_or_a_subclass(browser, authentication):
    middleware = [m for m in WITHOUT_IT if not m.endswith(".AuthenticationMiddleware")]
    at = middleware.index("django.middleware.csrf.CsrfViewMiddleware") + 1
    with override_settings(MIDDLEWARE=[*middleware[:at], authentication, browser, *middleware[at:]]):
        assert "sessions_app.E018" not in error_ids(check_session_settings())


def test_the_recent_authentication_window_must_be_positive():
    with override_settings(SESSIONS_APP={**settings.SESSIONS_APP, "RECENT_AUTHENTICATION_WINDOW": timedelta(0)}):
        assert "sessions_app.E019" in error_ids(check_session_settings())
