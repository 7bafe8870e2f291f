"""Login rate limits (SECURITY.md 11): per account (the email as submitted) and per client IP, independent
of each other, answered with 429 `rate_limited` and Retry-After; counted in the cache, not the database."""
from datetime import timedelta

import pytest

from sessions_app.conf import app_settings
from sessions_app.models import SecurityEvent

from .fixtures import PASSWORD
from .fixtures import CLOCK_START
from .helpers import assert_error, refresh

pytestmark = pytest.mark.django_db

START = CLOCK_START
# Over the 1024-character cap: refused with 400 before any hashing, yet counted like any attempt.
UNHASHED = "p" * 1025


def attempt(api, email: str, password: str = UNHASHED, ip: str = "203.0.113.1"):
    return api.post("/api/auth/login/", {"email": email, "password": password}, REMOTE_ADDR=ip)


def test_default_login_limits():
    assert app_settings.RATE_LIMITS["login"] == {"ip": "30/m", "account": "10/m"}


def test_eleventh_attempt_on_one_account_is_429_with_retry_after(api, user, clock):
    # Ten real failed logins, each from a different address so that only the account limit is in play.
    for n in range(10):
        assert attempt(api, "alice@example.com", "wrong password number one", ip=f"198.51.100.{n}").status_code == 401

    response = attempt(api, "alice@example.com", PASSWORD, ip="198.51.100.99")

    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["Cache-Control"] == "no-store"
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.RATE_LIMITED).count() == 1
    # Other accounts are not affected, and the limit lifts when the window has passed.
    assert attempt(api, "bob@example.com", ip="198.51.100.99").status_code == 400
    clock.shift(timedelta(seconds=61))
    assert attempt(api, "alice@example.com", PASSWORD, ip="198.51.100.99").status_code == 200


def test_account_limit_ignores_case_and_surrounding_spaces(api, clock):
    for n, email in enumerate(["alice@example.com", "ALICE@example.com", " Alice@Example.COM "] * 4):
        response = attempt(api, email, ip=f"198.51.100.{n}")
        assert response.status_code == (400 if n < 10 else 429), (n, response.content)


def test_account_limit_applies_to_unknown_accounts_too(api, clock):
    # A limit being hit says nothing about whether the account exists.
    for n in range(10):
        assert attempt(api, "nobody@example.com", ip=f"198.51.100.{n}").status_code == 400
    assert_error(attempt(api, "nobody@example.com", ip="198.51.100.50"), 429, "rate_limited")


def test_ip_limit_is_independent_of_the_account_limit(api, settings, clock):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP,
                             "RATE_LIMITS": {"login": {"ip": "3/m", "account": "100/m"}}}
    for n in range(3):
        assert attempt(api, f"user{n}@example.com", ip="203.0.113.9").status_code == 400

    response = attempt(api, "fresh@example.com", ip="203.0.113.9")

    assert_error(response, 429, "rate_limited")
    assert "Retry-After" in response
    # Another address is not limited, even for the same accounts.
    assert attempt(api, "user0@example.com", ip="203.0.113.10").status_code == 400


def test_x_forwarded_for_is_ignored_without_trusted_proxies(api, settings, clock):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "RATE_LIMITS": {"login": {"ip": "2/m"}}}
    for n in range(2):
        response = api.post("/api/auth/login/", {"email": f"u{n}@example.com", "password": UNHASHED},
                            REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert response.status_code == 400
    response = api.post("/api/auth/login/", {"email": "u9@example.com", "password": UNHASHED},
                        REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="192.0.2.77")
    assert_error(response, 429, "rate_limited")


def test_refresh_is_limited_per_ip(api, settings, clock):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "RATE_LIMITS": {"refresh": {"ip": "2/m"}}}
    for _ in range(2):
        assert refresh(api, "unknown").status_code == 401
    response = refresh(api, "unknown")
    assert_error(response, 429, "rate_limited")
    assert "Retry-After" in response
