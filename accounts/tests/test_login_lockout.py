"""Login throttling counts failures, not attempts, and cannot be used to keep an owner out of their
account: failures per account and client network, a progressive lockout per account that spares devices
which logged in before (the device cookie), and a password reset or a successful login that clears it."""
from datetime import timedelta
from http.cookies import SimpleCookie

from django.core import mail
from django.test import Client
import pytest
from rest_framework.test import APIClient

from accounts import events as account_events
from accounts.conf import app_settings
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error

from .helpers import only_email_to, token_in

pytestmark = pytest.mark.django_db

WRONG = "not the right password at all"
NEW_PASSWORD = "velvet comet under quiet lanterns"
DEVICE_COOKIE = app_settings.DEVICE_COOKIE_NAME


@pytest.fixture
def lockout(settings):
    """A small policy, so that a test reaches every stage in a few attempts."""
    def apply(**values):
        settings.ACCOUNTS = {**settings.ACCOUNTS, **values}
    apply(LOGIN_FAILURES_PER_CLIENT=3, LOGIN_LOCKOUT_THRESHOLD=5,
          LOGIN_LOCKOUT_BASE=timedelta(minutes=1), LOGIN_LOCKOUT_MAX=timedelta(minutes=4))
    return apply


def attempt(client, email="alice@example.com", password=WRONG, *, ip):
    return client.post("/api/auth/login/", {"email": email, "password": password}, REMOTE_ADDR=ip)


def attacker_fails(count: int, email="alice@example.com", start: int = 0) -> None:
    """`count` wrong passwords, each from a different network (as from a botnet)."""
    for n in range(start, start + count):
        response = attempt(APIClient(), email, ip=f"10.{n}.0.1")
        assert response.status_code == 401, (n, response.content)


def test_a_victim_locked_by_failures_from_many_networks_still_logs_in_from_their_device(api, user, lockout):
    assert attempt(api, password=PASSWORD, ip="192.0.2.10").status_code == 200  # the owner's laptop
    assert api.cookies[DEVICE_COOKIE].value

    attacker_fails(5)  # the fifth failure locks the account for new devices

    assert_error(attempt(APIClient(), password=PASSWORD, ip="198.51.100.5"), 429, "rate_limited")
    # The laptop, even on another network, is not locked out.
    assert attempt(api, password=PASSWORD, ip="203.0.113.77").status_code == 200


@pytest.mark.django_db(transaction=True)  # the reset email and the clearing happen on commit
def test_a_password_reset_clears_the_lock(api, user, lockout):
    attacker_fails(5)
    new_device = APIClient()
    assert_error(attempt(new_device, password=PASSWORD, ip="198.51.100.5"), 429, "rate_limited")

    assert api.post("/api/auth/password-reset/", {"email": "alice@example.com"}).status_code == 202
    token = token_in(only_email_to("alice@example.com").body)
    assert api.post("/api/auth/password-reset/confirm/",
                    {"token": token, "new_password": NEW_PASSWORD}).status_code == 200

    assert attempt(new_device, password=NEW_PASSWORD, ip="198.51.100.5").status_code == 200


def test_a_successful_login_clears_the_count(user, lockout):
    attacker_fails(4)  # one short of the threshold
    assert attempt(APIClient(), password=PASSWORD, ip="192.0.2.10").status_code == 200
    attacker_fails(4, start=10)  # would have locked the account without the reset of the count

    assert attempt(APIClient(), password=PASSWORD, ip="198.51.100.5").status_code == 200


def test_only_failures_count_not_attempts(user, lockout):
    for n in range(8):  # more than both limits, all successful
        assert attempt(APIClient(), password=PASSWORD, ip=f"10.{n}.0.1").status_code == 200
    assert attempt(APIClient(), password=PASSWORD, ip="10.0.0.1").status_code == 200


def test_failures_from_one_network_refuse_that_network_only(user, lockout):
    for host in (1, 2, 3):  # other addresses of one /24
        assert attempt(APIClient(), ip=f"198.51.100.{host}").status_code == 401

    refused = attempt(APIClient(), password=PASSWORD, ip="198.51.100.200")

    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= 15 * 60
    assert attempt(APIClient(), password=PASSWORD, ip="203.0.113.9").status_code == 200
    # IPv6: the /64 is the client.
    for host in (1, 2, 3):
        assert attempt(APIClient(), "bob@example.com", ip=f"2001:db8:1:2::{host}").status_code == 401
    assert_error(attempt(APIClient(), "bob@example.com", ip="2001:db8:1:2::ffff"), 429, "rate_limited")
    assert attempt(APIClient(), "bob@example.com", ip="2001:db8:1:3::1").status_code == 401


def test_the_lock_grows_with_each_failure_and_is_capped(user, lockout, clock):
    attacker_fails(5)  # the fifth failure locks for 1 minute
    retry_afters = []
    for step in range(4):
        refused = attempt(APIClient(), password=PASSWORD, ip="198.51.100.5")
        assert_error(refused, 429, "rate_limited")
        retry_afters.append(int(refused["Retry-After"]))
        clock.shift(timedelta(seconds=retry_afters[-1] + 1))
        attacker_fails(1, start=100 + step)  # one more failure as soon as the lock ends

    assert retry_afters == [60, 120, 240, 240]
    locks = SecurityEvent.objects.filter(kind=account_events.LOGIN_LOCKED).order_by("created_at")
    assert [event.details["lock_seconds"] for event in locks] == [60, 120, 240, 240, 240]
    assert {event.user_id for event in locks} == {user.pk}  # operators see which account is attacked


def test_an_unknown_address_is_throttled_exactly_like_a_known_one(user, lockout, clock):
    # The clock stands still: both locks start at the same instant, so their Retry-After can be compared.
    attacker_fails(5, email="alice@example.com")
    attacker_fails(5, email="nobody@example.com", start=50)

    known = attempt(APIClient(), "alice@example.com", ip="198.51.100.5")
    unknown = attempt(APIClient(), "nobody@example.com", ip="198.51.100.5")

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known["Retry-After"] == unknown["Retry-After"]


def test_the_lock_holds_for_other_spellings_of_the_address(user, lockout):
    attacker_fails(5, email="ALICE@Example.com ")

    assert_error(attempt(APIClient(), "alice@example.com", PASSWORD, ip="198.51.100.5"), 429, "rate_limited")


def test_the_device_cookie_is_httponly_strict_and_bound_to_its_account(api, user, make_user, lockout):
    make_user("bob@example.com")
    response = attempt(api, password=PASSWORD, ip="192.0.2.10")
    cookie = response.cookies[DEVICE_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert int(cookie["max-age"]) == int(app_settings.DEVICE_COOKIE_AGE.total_seconds())

    attacker_fails(5, email="bob@example.com")
    # Alice's device is no device of Bob's, and a tampered cookie is no device at all.
    assert_error(attempt(api, "bob@example.com", PASSWORD, ip="192.0.2.10"), 429, "rate_limited")
    forged = APIClient()
    forged.cookies = SimpleCookie({DEVICE_COOKIE: cookie.value[:-2] + "xx"})
    attacker_fails(5, email="alice@example.com", start=20)
    assert_error(attempt(forged, password=PASSWORD, ip="192.0.2.10"), 429, "rate_limited")
    assert attempt(api, password=PASSWORD, ip="192.0.2.10").status_code == 200


def test_failures_from_a_known_device_are_limited_per_device(api, user, lockout):
    assert attempt(api, password=PASSWORD, ip="192.0.2.10").status_code == 200
    for n in range(3):  # the device itself guessing, from changing networks
        assert attempt(api, ip=f"10.{n}.0.1").status_code == 401

    assert_error(attempt(api, password=PASSWORD, ip="10.99.0.1"), 429, "rate_limited")
    assert attempt(APIClient(), password=PASSWORD, ip="203.0.113.9").status_code == 200


def test_the_admin_login_shares_the_lockout_and_sets_the_device_cookie(client, make_user, lockout):
    make_user("staff@example.com", is_staff=True)
    admin_login = {"username": "staff@example.com", "password": PASSWORD, "next": "/admin/"}
    response = client.post("/admin/login/", admin_login, REMOTE_ADDR="192.0.2.10")
    assert response.status_code == 302 and response.cookies[DEVICE_COOKIE]["httponly"]

    attacker_fails(5, email="staff@example.com")

    refused = Client().post("/admin/login/", admin_login, REMOTE_ADDR="198.51.100.5")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    laptop = Client()  # the same browser, logged out of the admin but keeping its device cookie
    laptop.cookies[DEVICE_COOKIE] = client.cookies[DEVICE_COOKIE].value
    assert laptop.post("/admin/login/", admin_login, REMOTE_ADDR="203.0.113.5").status_code == 302
    assert SecurityEvent.objects.filter(kind=account_events.LOGIN_FAIL).count() == 5


def test_no_email_goes_out_for_a_lockout(user, lockout):
    attacker_fails(5)
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)  # the reset email and the clearing happen on commit
def test_the_device_that_resets_the_password_is_trusted_even_if_the_lock_is_renewed(api, user, lockout):
    attacker_fails(5)
    assert api.post("/api/auth/password-reset/", {"email": "alice@example.com"}, REMOTE_ADDR="198.51.100.5")
    token = token_in(only_email_to("alice@example.com").body)
    reset = api.post("/api/auth/password-reset/confirm/", {"token": token, "new_password": NEW_PASSWORD},
                     REMOTE_ADDR="198.51.100.5")
    assert reset.status_code == 200 and reset.cookies[DEVICE_COOKIE]["httponly"]

    attacker_fails(5, start=30)  # the attacker locks the account again at once

    assert_error(attempt(APIClient(), password=NEW_PASSWORD, ip="203.0.113.5"), 429, "rate_limited")
    assert attempt(api, password=NEW_PASSWORD, ip="203.0.113.5").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_reset_clears_the_failures_counted_against_the_owners_network(api, user, lockout):
    for host in (1, 2, 3):  # someone on the owner's network (an office, a carrier NAT) fails three times
        assert attempt(APIClient(), ip=f"198.51.100.{host}").status_code == 401
    assert_error(attempt(APIClient(), password=PASSWORD, ip="198.51.100.9"), 429, "rate_limited")

    api.post("/api/auth/password-reset/", {"email": "alice@example.com"}, REMOTE_ADDR="198.51.100.9")
    token = token_in(only_email_to("alice@example.com").body)
    api.post("/api/auth/password-reset/confirm/", {"token": token, "new_password": NEW_PASSWORD},
             REMOTE_ADDR="198.51.100.9")

    assert attempt(APIClient(), password=NEW_PASSWORD, ip="198.51.100.9").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_device_trusted_before_a_password_reset_is_trusted_no_more(api, user, lockout):
    """A device cookie from before the reset (a thief's laptop, say) no longer skips the lock."""
    thief = APIClient()
    assert attempt(thief, password=PASSWORD, ip="192.0.2.66").status_code == 200
    api.post("/api/auth/password-reset/", {"email": "alice@example.com"})
    token = token_in(only_email_to("alice@example.com").body)
    api.post("/api/auth/password-reset/confirm/", {"token": token, "new_password": NEW_PASSWORD})

    attacker_fails(5)

    assert_error(attempt(thief, ip="192.0.2.66"), 429, "rate_limited")
    assert attempt(api, password=NEW_PASSWORD, ip="203.0.113.5").status_code == 200  # the owner's


def test_changing_the_password_keeps_the_devices_own_exemption(api, user, lockout):
    login = attempt(api, password=PASSWORD, ip="192.0.2.10").json()
    changed = api.post("/api/auth/change-password/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                       HTTP_AUTHORIZATION=f"Bearer {login['access']}", REMOTE_ADDR="192.0.2.10")
    assert changed.status_code == 200 and changed.cookies[DEVICE_COOKIE]["httponly"]

    attacker_fails(5)

    assert_error(attempt(APIClient(), password=NEW_PASSWORD, ip="203.0.113.6"), 429, "rate_limited")
    assert attempt(api, password=NEW_PASSWORD, ip="203.0.113.5").status_code == 200
