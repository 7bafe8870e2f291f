"""A service error that reaches a page outside /api/ (a spent rate limit, the limiter's cache unreachable,
any other refusal) is a page of the error's own status with Retry-After where the error has one, never
cached, and logged at WARNING, never as a 500 with a traceback (authcore/pages.py)."""
import logging

from django.test import Client, RequestFactory, override_settings
import pytest

from accounts.flows import passwords
from authcore.errors import ServiceError
from authcore.ratelimit import scope_rates
from authcore.testing import PASSWORD
from connections.limits import COMPLETE_CONNECTION

pytestmark = pytest.mark.django_db

CALLBACK = "/connections/demo/callback/"
# Nothing listens on port 1: every cache call fails at once, as with Redis down.
UNREACHABLE_CACHE = {"default": {"BACKEND": "authcore.backends.redis_cache.RedisCache",
                                 "LOCATION": "redis://127.0.0.1:1/0",
                                 "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
OUTAGE_EVENT = "sys_ratelimit_cache_unavailable"


@pytest.fixture
def demo(settings):
    """A configured provider, so that the callback page exists. Its endpoints are never called: a junk
    state is refused before the provider is."""
    settings.CONNECTIONS = {**settings.CONNECTIONS, "APP_URL": "", "PROVIDERS": {"demo": {
        "client_id": "client", "client_secret": "secret", "scopes": ["read"],
        "authorization_url": "http://127.0.0.1:1/authorize", "token_url": "http://127.0.0.1:1/token"}}}


@pytest.fixture
def logs(caplog):
    """Every record at WARNING and above, django.request's included (the settings keep only its ERRORs)."""
    caplog.set_level(logging.WARNING, logger="django.request")
    return caplog


def fail_closed(settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMIT_FAIL_OPEN": ()}


def assert_page(response, status: int, text: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("text/html")
    assert text in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"


def assert_logged_as_warning_at_most(logs, status: int) -> None:
    answers = [record for record in logs.records if record.name == "django.request"]
    assert [(record.levelname, record.status_code) for record in answers][-1:] == [("WARNING", status)]
    assert not any(record.exc_info for record in answers)
    # The limiter reports an outage of its cache itself (authcore.ratelimit); nothing else is an error.
    assert [record for record in logs.records
            if record.levelno >= logging.ERROR and getattr(record, "event", None) != OUTAGE_EVENT] == []


# --- the connect callback -----------------------------------------------------------------------------------
@pytest.mark.parametrize("last", [{"code": "x"}, {"error": "access_denied"}])
def test_a_spent_limit_on_the_callback_is_a_429_page(demo, logs, clock, last):
    limit = int(scope_rates(COMPLETE_CONNECTION)["ip"].split("/")[0])
    browser = Client()
    for n in range(limit):
        assert browser.get(CALLBACK, {"state": f"junk-{n}", "code": "x"}).status_code == 400

    for n in range(3):
        page = browser.get(CALLBACK, {"state": f"more-junk-{n}", **last})
        assert_page(page, 429, "Too many requests")
        assert int(page["Retry-After"]) >= 1
    assert_logged_as_warning_at_most(logs, 429)


def test_the_callback_with_the_limiters_cache_down_is_a_503_page(demo, settings, logs):
    fail_closed(settings)  # the scope lets requests through by default (connections/limits.py)
    with override_settings(CACHES=UNREACHABLE_CACHE):
        page = Client().get(CALLBACK, {"state": "junk", "error": "access_denied"})

    assert_page(page, 503, "temporarily unavailable")
    assert page["Retry-After"] == "15"
    assert_logged_as_warning_at_most(logs, 503)
    assert any(getattr(record, "event", None) == OUTAGE_EVENT for record in logs.records)


def test_by_default_the_callback_goes_on_without_the_limiters_cache(demo):
    with override_settings(CACHES=UNREACHABLE_CACHE):
        page = Client().get(CALLBACK, {"state": "junk", "code": "x"})
    assert page.status_code == 400 and "invalid" in page.content.decode()


# --- the account pages --------------------------------------------------------------------------------------
def test_an_account_page_with_the_limiters_cache_down_is_a_503_page(user, logs):
    with override_settings(CACHES=UNREACHABLE_CACHE):
        page = Client().post("/accounts/password-reset/", {"email": user.email})

    assert_page(page, 503, "temporarily unavailable")
    assert page["Retry-After"] == "15"
    assert_logged_as_warning_at_most(logs, 503)


def test_a_spent_limit_on_an_account_page_is_a_429_page(settings, logs, clock):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"password_reset": {"account": "1/h"}}}
    browser = Client()
    assert browser.post("/accounts/password-reset/", {"email": "alice@example.com"}).status_code == 302

    page = browser.post("/accounts/password-reset/", {"email": "alice@example.com"})

    assert_page(page, 429, "Too many attempts")
    assert int(page["Retry-After"]) >= 1
    assert_logged_as_warning_at_most(logs, 429)


@pytest.mark.parametrize("code, status, text", [
    ("permission_denied", 403, "You do not have permission to perform this action."),
    ("email_taken", 409, "This address now belongs to another account."),
])
def test_any_other_service_error_on_a_page_is_a_page_of_its_status(monkeypatch, logs, code, status, text):
    def refuse(**kwargs):
        raise ServiceError(code)

    monkeypatch.setattr(passwords, "request_password_reset", refuse)
    page = Client().post("/accounts/password-reset/", {"email": "alice@example.com"})

    assert_page(page, status, text)
    assert not page.has_header("Retry-After")
    assert_logged_as_warning_at_most(logs, status)


# --- the admin login ----------------------------------------------------------------------------------------
def test_a_spent_limit_on_the_admin_login_is_the_same_429_page(make_user, settings, logs, clock):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"login": {"ip": "1/m"}}}
    make_user("staff@example.com", is_staff=True)
    browser = Client()
    browser.post("/admin/login/", {"username": "staff@example.com", "password": "wrong"})

    page = browser.post("/admin/login/", {"username": "staff@example.com", "password": PASSWORD})

    assert_page(page, 429, "Too many attempts")
    assert int(page["Retry-After"]) >= 1
    assert "_auth_user_id" not in browser.session
    assert_logged_as_warning_at_most(logs, 429)


def test_the_admin_login_with_the_limiters_cache_down_is_a_503_page(make_user, logs):
    make_user("staff@example.com", is_staff=True)
    with override_settings(CACHES=UNREACHABLE_CACHE):
        page = Client().post("/admin/login/", {"username": "staff@example.com", "password": PASSWORD})

    assert_page(page, 503, "temporarily unavailable")
    assert page["Retry-After"] == "15"
    assert_logged_as_warning_at_most(logs, 503)


# --- the API keeps its envelope -----------------------------------------------------------------------------
def test_the_api_is_left_to_its_own_exception_handler():
    from authcore.pages import ServiceErrorPageMiddleware

    middleware = ServiceErrorPageMiddleware(lambda request: None)
    error = ServiceError("rate_limited", retry_after=5)
    assert middleware.process_exception(RequestFactory().get("/api/auth/login/"), error) is None
    assert middleware.process_exception(RequestFactory().get("/accounts/register/"), error).status_code == 429


def test_a_fault_is_left_to_djangos_500_handling_and_an_api_path_to_the_api():
    """Only refusals become pages: a 500 is a fault (Django logs it at ERROR), and /api/ has its envelope."""
    from django.test import RequestFactory

    from authcore.errors import ServiceError
    from authcore.pages import ServiceErrorPageMiddleware

    middleware = ServiceErrorPageMiddleware(lambda request: None)
    page = RequestFactory().get("/accounts/register/")
    assert middleware.process_exception(page, ServiceError("server_error")) is None
    assert middleware.process_exception(RequestFactory().get("/api/auth/me/"), ServiceError("rate_limited")) is None
    assert middleware.process_exception(page, ServiceError("rate_limited", retry_after=5)).status_code == 429
