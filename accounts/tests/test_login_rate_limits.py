"""Login rate limits: attempts per client IP, failures per account (the email as submitted) and client
network, independent of each other, answered with 429 `rate_limited` and Retry-After; counted in the
cache, not the database."""
from datetime import timedelta

import pytest

from authcore.models import SecurityEvent
from authcore.ratelimit import RATE_LIMITED, scope_rates
from authcore.testing import CLOCK_START, PASSWORD, assert_error

pytestmark = pytest.mark.django_db

START = CLOCK_START
# Over the 1024-character cap: refused with 400 for its shape, before the login flow.
UNHASHED = "p" * 1025
WRONG = "wrong password number one"


def attempt(api, email: str, password: str = UNHASHED, ip: str = "203.0.113.1"):
    return api.post("/api/auth/login/", {"email": email, "password": password}, REMOTE_ADDR=ip)


def test_default_login_limits():
    # Per account, login counts failures with its own policy (accounts/tests/test_login_lockout.py).
    assert scope_rates("login") == {"ip": "30/m"}


def test_the_eleventh_failure_from_one_network_is_429_with_retry_after(api, user, clock):
    # Ten real failed logins from addresses of one /24, so that only the per-account-and-network count is
    # in play (the per-IP limit counts each address separately).
    for n in range(10):
        assert attempt(api, "alice@example.com", "wrong password number one", ip=f"198.51.100.{n}").status_code == 401

    response = attempt(api, "alice@example.com", PASSWORD, ip="198.51.100.99")

    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 15 * 60
    assert response["Cache-Control"] == "no-store"
    assert SecurityEvent.objects.filter(kind=RATE_LIMITED).count() == 1
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


def test_refused_input_is_not_counted(api, user, clock):
    # Requests refused for their shape (here: over the length cap) never reach the login flow, cost
    # nothing, and count neither per IP nor per account.
    for n in range(35):
        assert attempt(api, "alice@example.com", ip=f"198.51.100.{n}").status_code == 400
    assert attempt(api, "alice@example.com", PASSWORD, ip="198.51.100.99").status_code == 200


def test_ip_limit_is_independent_of_the_account_limit(api, settings, clock):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"login": {"ip": "3/m"}}}
    for n in range(3):
        assert attempt(api, f"user{n}@example.com", WRONG, ip="203.0.113.9").status_code == 401

    response = attempt(api, "fresh@example.com", WRONG, ip="203.0.113.9")

    assert_error(response, 429, "rate_limited")
    assert "Retry-After" in response
    # Another address is not limited, even for the same accounts.
    assert attempt(api, "user0@example.com", WRONG, ip="203.0.113.10").status_code == 401


def test_x_forwarded_for_is_ignored_without_trusted_proxies(api, settings, clock):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"login": {"ip": "2/m"}}}
    for n in range(2):
        response = api.post("/api/auth/login/", {"email": f"u{n}@example.com", "password": WRONG},
                            REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert response.status_code == 401
    response = api.post("/api/auth/login/", {"email": "u9@example.com", "password": WRONG},
                        REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="192.0.2.77")
    assert_error(response, 429, "rate_limited")
