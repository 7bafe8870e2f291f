"""AUTHCORE["RATE_LIMITS"] is laid over the defaults scope by scope and key by key: overriding one scope
never switches off another, None switches one key off, and an unknown scope is a programming error.
Also the change-password limit per account (guessing the current password with a stolen access token)."""
from datetime import timedelta

import pytest

from authcore.errors import ServiceError
from authcore.models import SecurityEvent
from authcore.ratelimit import RATE_LIMITED, enforce_rate_limit, scope_rates
from authcore.requestmeta import ClientInfo
from authcore.testing import CLOCK_START, PASSWORD, assert_error, bearer
from sessions_app.tests.helpers import open_session, refresh

pytestmark = pytest.mark.django_db

START = CLOCK_START
# A wrong password: limits count the requests that reach the login flow (well-formed ones).
WRONG = "not the password of anyone here"
NEW_PASSWORD = "violet tundra sparrow 4417 quay"
CLIENT = ClientInfo(ip_address="203.0.113.1")


@pytest.fixture
def rate_limits(settings):
    def configure(limits: dict) -> None:
        settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": limits}

    return configure


def attempt(api, email: str = "alice@example.com", password: str = WRONG, ip: str = "203.0.113.1"):
    return api.post("/api/auth/login/", {"email": email, "password": password}, REMOTE_ADDR=ip)


# --- merging -------------------------------------------------------------------------------------------------
def test_scope_rates_lays_the_setting_over_the_defaults_key_by_key(rate_limits):
    rate_limits({"register": {"ip": "1000/m"}, "refresh": {"ip": None}})

    assert scope_rates("register") == {"ip": "1000/m", "account": "5/h"}
    assert scope_rates("refresh") == {"ip": None}
    assert scope_rates("change_password") == {"ip": "30/m", "account": "5/m"}  # not mentioned: the defaults


def test_overriding_login_keeps_the_default_refresh_limit(api, rate_limits, clock):
    rate_limits({"login": {"ip": "1000/m"}})
    for n in range(120):
        assert refresh(api, "unknown").status_code == 401, n

    response = refresh(api, "unknown")

    assert_error(response, 429, "rate_limited")
    assert "Retry-After" in response


def test_overriding_refresh_keeps_the_default_login_limits(api, rate_limits, clock):
    rate_limits({"refresh": {"ip": "3/m"}})
    # The override applies to refresh ...
    for _ in range(3):
        assert refresh(api, "unknown").status_code == 401
    assert_error(refresh(api, "unknown"), 429, "rate_limited")
    # ... and login keeps its default 30/m per IP.
    for n in range(30):
        assert attempt(api, email=f"user{n}@example.com").status_code == 401, n
    assert_error(attempt(api, email="someone@example.com"), 429, "rate_limited")


def test_a_key_set_to_none_is_off(api, user, rate_limits, clock):
    rate_limits({"login": {"ip": None}})

    for n in range(40):
        assert attempt(api, email=f"user{n}@example.com").status_code == 401, n
    assert attempt(api, password=PASSWORD).status_code == 200
    assert not SecurityEvent.objects.filter(kind=RATE_LIMITED).exists()


def register(api, ip: str = "203.0.113.1"):
    # A password too short for the policy: refused with 400 after the limits are counted.
    return api.post("/api/auth/register/", {"email": "carol@example.com", "password": "short"}, REMOTE_ADDR=ip)


def test_switching_one_key_off_keeps_the_scopes_other_default(api, rate_limits, clock):
    rate_limits({"register": {"account": None}})
    # The account key is off (every attempt names the same email), the default 10/m per IP still holds.
    for n in range(10):
        assert register(api).status_code == 400, n

    assert_error(register(api), 429, "rate_limited")
    assert register(api, ip="203.0.113.2").status_code == 400


def test_an_unknown_scope_is_a_value_error(rate_limits):
    rate_limits({"login": {"ip": "1000/m"}})

    with pytest.raises(ValueError, match="unknown rate limit scope 'logni'"):
        scope_rates("logni")
    with pytest.raises(ValueError, match="unknown rate limit scope"):
        enforce_rate_limit(scope="logni", client=CLIENT, account="alice@example.com")


def test_a_scope_the_host_project_defines_is_known(rate_limits, clock):
    rate_limits({"export": {"ip": "1/m"}})

    assert scope_rates("export") == {"ip": "1/m"}
    enforce_rate_limit(scope="export", client=CLIENT)
    with pytest.raises(ServiceError) as raised:
        enforce_rate_limit(scope="export", client=CLIENT)
    assert raised.value.code == "rate_limited"


# --- change-password, per account ----------------------------------------------------------------------------
def change_password(api, access: str, current: str, ip: str):
    return api.post("/api/auth/change-password/", {"current_password": current, "new_password": NEW_PASSWORD},
                    REMOTE_ADDR=ip, **bearer(access))


def test_change_password_is_limited_per_account(api, user, make_user, clock):
    access = open_session(user).access
    # Five wrong guesses, each from another address, so only the account limit is in play.
    for n in range(5):
        assert_error(change_password(api, access, f"wrong guess {n}", ip=f"198.51.100.{n}"), 400,
                     "password_incorrect")

    response = change_password(api, access, "wrong guess 5", ip="198.51.100.5")

    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    event = SecurityEvent.objects.get(kind=RATE_LIMITED)
    assert event.details == {"scope": "change_password", "key": "account"}
    # Even the right password is refused now, from a fresh session and a fresh address: nothing is checked.
    again = change_password(api, open_session(user).access, PASSWORD, ip="198.51.100.77")
    assert_error(again, 429, "rate_limited")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    # Another user, from the very address that was just refused, is not affected.
    bob = make_user("bob@example.com")
    assert_error(change_password(api, open_session(bob).access, "wrong guess", ip="198.51.100.5"), 400,
                 "password_incorrect")
    # The limit lifts when the window has passed.
    clock.shift(timedelta(seconds=61))
    assert change_password(api, access, PASSWORD, ip="198.51.100.5").status_code == 200


@pytest.mark.parametrize("debug, backend, single_process, refused", [
    (False, "django.core.cache.backends.locmem.LocMemCache", False, True),
    (False, "django.core.cache.backends.locmem.LocMemCache", True, False),
    (True, "django.core.cache.backends.locmem.LocMemCache", False, False),
    (False, "authcore.backends.redis_cache.RedisCache", False, False),
])
def test_a_process_local_cache_is_refused_outside_debug(settings, debug, backend, single_process, refused):
    """N processes with their own counters allow N times every limit; only an explicit single-process
    deployment may count in local memory."""
    from authcore.checks import check_kernel_settings

    settings.DEBUG = debug
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:6379/0"}}
    settings.AUTHCORE = {**settings.AUTHCORE, "SINGLE_PROCESS": single_process}
    assert ("authcore.E006" in [error.id for error in check_kernel_settings()]) is refused


def test_the_dummy_cache_is_refused_even_for_one_process(settings):
    """It counts nothing: no limit or lock would ever trip."""
    from authcore.checks import check_kernel_settings

    settings.DEBUG = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    settings.AUTHCORE = {**settings.AUTHCORE, "SINGLE_PROCESS": True}
    assert "authcore.E007" in [error.id for error in check_kernel_settings()]
