"""The rate-limit cache (Redis) going away: no 500s. Each scope fails open or closed as configured,
closed means 503 `service_unavailable` with Retry-After, and a stalled server is given up on quickly.

Runs against a private redis-server on its own port, which each test stops by its PID."""
import json
import logging
import os
import subprocess
import sys
import threading

from django.test import Client
import pytest
from rest_framework.test import APIClient

from authcore.testing import PASSWORD, REDIS_SERVER, PrivateRedis, assert_error
from sessions_app.tests.helpers import open_session, refresh

pytestmark = pytest.mark.django_db


def production_caches(redis_url: str) -> dict:
    """CACHES exactly as config/settings.py builds it for REDIS_URL (timeouts included), read in a
    separate interpreter so that this test process's settings stay as they are."""
    script = "import json; from config import settings_test as s; print(json.dumps(s.CACHES))"
    output = subprocess.run([sys.executable, "-c", script], env={**os.environ, "REDIS_URL": redis_url},
                            capture_output=True, text=True, check=True, cwd=settings_dir()).stdout
    return json.loads(output)


def settings_dir() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def redis_server(settings):
    if not os.path.exists(REDIS_SERVER):
        pytest.skip("redis-server is not installed")
    server = PrivateRedis()
    settings.CACHES = production_caches(f"redis://127.0.0.1:{server.port}/0")
    yield server
    server.stop()


def log_in(client, email="alice@example.com", password=PASSWORD):
    return client.post("/api/auth/login/", {"email": email, "password": password})


def assert_unavailable(response) -> None:
    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "15"
    assert response["Cache-Control"] == "no-store"


def test_login_fails_closed_with_503_and_retry_after(api, user, redis_server, caplog):
    assert log_in(api).status_code == 200  # the cache works: counted in the private Redis

    redis_server.stop()
    with caplog.at_level(logging.ERROR, logger="security"):
        response = log_in(api)

    assert_unavailable(response)
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "sys_ratelimit_cache_unavailable"]
    assert (record.detail_scope, record.detail_outcome) == ("login", "refused")


def test_refresh_fails_open(api, alice, redis_server):
    tokens = open_session(alice)
    redis_server.stop()

    response = refresh(api, tokens.refresh)

    assert response.status_code == 200, response.content
    assert response.json()["refresh"] != tokens.refresh


@pytest.mark.parametrize("path, body", [
    ("/api/auth/register/", {"email": "new@example.com", "password": "plum tree orbit cascade"}),
    ("/api/auth/password-reset/", {"email": "alice@example.com"}),
    ("/api/auth/verify-email/resend/", {"email": "alice@example.com"}),
])
def test_email_sending_endpoints_fail_closed(api, user, redis_server, path, body):
    redis_server.stop()
    assert_unavailable(api.post(path, body))


def test_token_endpoints_fail_open(api, redis_server):
    redis_server.stop()
    # The answer is about the token, not the cache: nothing to guess in an HMAC.
    assert_error(api.post("/api/auth/verify-email/", {"token": "AA.a-0"}), 400, "invalid_token")


def test_change_password_fails_closed(api, alice, redis_server):
    tokens = open_session(alice)
    redis_server.stop()
    response = api.post("/api/auth/change-password/", {"current_password": "x", "new_password": "y" * 20},
                        HTTP_AUTHORIZATION=f"Bearer {tokens.access}")
    assert_unavailable(response)


def test_a_scope_can_be_switched_to_fail_open(api, user, redis_server, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMIT_FAIL_OPEN": ("login",)}
    redis_server.stop()
    assert log_in(api).status_code == 200


def test_a_stalled_cache_is_given_up_on_quickly(user, redis_server, settings):
    """A paused server accepts connections and never answers: without socket timeouts the request would
    hang until the worker is killed."""
    APIClient().post("/api/auth/login/", {"email": "x@example.com", "password": "y"})  # connect once
    redis_server.pause()
    answers = []
    worker = threading.Thread(target=lambda: answers.append(log_in(APIClient())))
    worker.start()
    worker.join(timeout=10)  # a few 0.5 s cache timeouts at most

    assert not worker.is_alive(), "the login hung on the stalled cache"
    assert settings.CACHES["default"]["OPTIONS"]["socket_timeout"] <= 1
    assert_unavailable(answers[0])


def test_admin_login_and_browser_pages_answer_503(user, redis_server):
    redis_server.stop()
    admin = Client().post("/admin/login/", {"username": "alice@example.com", "password": PASSWORD})
    assert admin.status_code == 503 and admin["Retry-After"] == "15"

    page = Client().post("/accounts/password-reset/", {"email": "alice@example.com"})
    assert page.status_code == 503 and page["Retry-After"] == "15"
    assert "temporarily unavailable" in page.content.decode()


def test_the_sign_in_page_answers_503_and_a_signed_in_browser_is_not_signed_out(user, redis_server):
    browser = Client()
    assert browser.post("/accounts/login/", {"email": "alice@example.com", "password": PASSWORD}).status_code == 302
    redis_server.stop()

    page = Client().post("/accounts/login/", {"email": "alice@example.com", "password": PASSWORD})
    assert page.status_code == 503 and page["Retry-After"] == "15"
    assert "temporarily unavailable" in page.content.decode()
    # The sign-in is checked in the database, not the cache: the browser stays signed in.
    assert browser.get("/accounts/").status_code == 200
