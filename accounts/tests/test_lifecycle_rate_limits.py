"""Rate limits on the lifecycle endpoints (docs/security.md 11): per IP and per account, 429 with Retry-After."""
import pytest

from authcore.ratelimit import scope_rates

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "register": ("/api/auth/register/", lambda n: {"email": "a@example.com", "password": "x"}),
    "verify_email": ("/api/auth/verify-email/", lambda n: {"token": f"QUJD.{n}-0"}),
    "resend_verification": ("/api/auth/verify-email/resend/", lambda n: {"email": "a@example.com"}),
    "password_reset": ("/api/auth/password-reset/", lambda n: {"email": "a@example.com"}),
    "password_reset_confirm": ("/api/auth/password-reset/confirm/",
                               lambda n: {"token": f"QUJD.{n}-0", "new_password": "x"}),
}


def test_every_lifecycle_scope_has_ip_and_account_limits():
    for scope in ENDPOINTS:
        assert set(scope_rates(scope)) == {"ip", "account"}, scope


@pytest.mark.parametrize("scope", ENDPOINTS)
def test_account_limit(api, settings, scope):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {scope: {"account": "2/h"}}}
    url, body = ENDPOINTS[scope]
    answers = [api.post(url, body(n)) for n in range(3)]
    assert 429 not in [a.status_code for a in answers[:2]]
    assert answers[2].status_code == 429
    assert answers[2].json()["code"] == "rate_limited"
    assert int(answers[2]["Retry-After"]) > 0


@pytest.mark.parametrize("scope", ENDPOINTS)
def test_ip_limit(api, settings, scope):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {scope: {"ip": "2/m"}}}
    url, body = ENDPOINTS[scope]
    statuses = [api.post(url, body(n), REMOTE_ADDR="203.0.113.7").status_code for n in range(3)]
    assert statuses[2] == 429
    assert api.post(url, body(9), REMOTE_ADDR="203.0.113.8").status_code != 429


def test_account_limit_ignores_case_and_spaces(api, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"password_reset": {"account": "2/h"}}}
    for email in ("a@example.com", "A@EXAMPLE.com"):
        api.post("/api/auth/password-reset/", {"email": email})
    assert api.post("/api/auth/password-reset/", {"email": " a@example.COM "}).status_code == 429
