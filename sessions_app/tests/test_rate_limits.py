"""Login rate limits: attempts per client IP, failures per account (the email as submitted) and client
network, independent of each other, answered with 429 `rate_limited` and Retry-After; counted in the
cache, not the database."""
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
    # Per account, login counts failures with its own policy (accounts/tests/test_login_lockout.py).
    assert app_settings.RATE_LIMITS["login"] == {"ip": "30/m"}


def test_the_eleventh_failure_from_one_network_is_429_with_retry_after(api, user, clock):
    # Ten real failed logins from addresses of one /24, so that only the per-account-and-network count is
    # in play (the per-IP limit counts each address separately).
    for n in range(10):
        assert attempt(api, "alice@example.com", "wrong password number one", ip=f"198.51.100.{n}").status_code == 401

    response = attempt(api, "alice@example.com", PASSWORD, ip="198.51.100.99")

    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 15 * 60
    assert response["Cache-Control"] == "no-store"
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.RATE_LIMITED).count() == 1
    # Other accounts, and other networks, are not affected; the limit lifts when the window has passed.
    assert attempt(api, "bob@example.com", ip="198.51.100.99").status_code == 400
    assert attempt(api, "alice@example.com", PASSWORD, ip="203.0.113.99").status_code == 200
    clock.shift(timedelta(minutes=15, seconds=1))
    assert attempt(api, "alice@example.com", PASSWORD, ip="198.51.100.99").status_code == 200


def test_account_failures_ignore_case_and_surrounding_spaces(api, clock):
    for n, email in enumerate(["alice@example.com", "ALICE@example.com", " Alice@Example.COM "] * 4):
        response = attempt(api, email, "wrong password number one", ip=f"198.51.100.{n}")
        assert response.status_code == (401 if n < 10 else 429), (n, response.content)


def test_account_failures_count_for_unknown_accounts_too(api, clock):
    # A limit being hit says nothing about whether the account exists.
    for n in range(10):
        assert attempt(api, "nobody@example.com", "wrong password number one", ip=f"198.51.100.{n}").status_code == 401
    assert_error(attempt(api, "nobody@example.com", "wrong password number two", ip="198.51.100.50"),
                 429, "rate_limited")


def test_refused_input_is_not_a_failure(api, user, clock):
    # Requests refused before any password check (here: over the length cap) count per IP, not per account.
    for n in range(15):
        assert attempt(api, "alice@example.com", ip=f"198.51.100.{n}").status_code == 400
    assert attempt(api, "alice@example.com", PASSWORD, ip="198.51.100.99").status_code == 200


def test_ip_limit_is_independent_of_the_account_limit(api, settings, clock):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "RATE_LIMITS": {"login": {"ip": "3/m"}}}
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
