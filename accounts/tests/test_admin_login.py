"""Getting into the admin: rate-limited login (attempts per IP, failures per account and network, shared
with the API login), staff only, createsuperuser."""
from django.core.management import call_command
from django.test import Client
import pytest

from accounts.models import User
from authcore.models import SecurityEvent
from authcore.ratelimit import RATE_LIMITED
from authcore.testing import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
LIMITS = {"ip": "5/m"}
SUPERUSER_PASSWORD = "orange kettles hum beneath winter stars"


@pytest.fixture(autouse=True)
def small_login_limits(settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"login": LIMITS, "refresh": {"ip": "120/m"}}}
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURES_PER_CLIENT": 3}


def attempt(client, email, password="wrong password, wrong password", **extra):
    return client.post(LOGIN, {"username": email, "password": password, "next": "/admin/"}, **extra)


def test_login_failures_are_limited_per_account_with_retry_after(client, make_user):
    make_user("staff@example.com", is_staff=True)
    for n in range(3):  # failures, from addresses of one network
        assert attempt(client, "staff@example.com", REMOTE_ADDR=f"198.51.100.{n}").status_code == 200  # the form again

    # Even the right password, in any case, from that network.
    limited = attempt(client, "STAFF@example.com", PASSWORD, REMOTE_ADDR="198.51.100.9")

    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert limited["Content-Type"].startswith("text/html")  # the pages' 429 page (authcore/pages.py)
    assert b"Too many requests" in limited.content
    assert "_auth_user_id" not in client.session
    assert SecurityEvent.objects.filter(kind=RATE_LIMITED, details__scope="login").exists()


def test_login_is_limited_per_ip_across_accounts(client):
    for i in range(5):
        assert attempt(client, f"user{i}@example.com").status_code == 200

    assert attempt(client, "someone.else@example.com").status_code == 429
    assert attempt(Client(REMOTE_ADDR="198.51.100.2"), "someone.else@example.com").status_code == 200


def test_admin_and_api_logins_share_one_budget(client, api, make_user):
    make_user("staff@example.com", is_staff=True)
    for _ in range(3):
        response = api.post("/api/auth/login/",
                            {"email": "staff@example.com", "password": "wrong password, wrong password"})
        assert response.status_code == 401

    assert attempt(client, "staff@example.com", PASSWORD).status_code == 429


def test_showing_the_login_page_is_not_counted(client, make_user):
    make_user("staff@example.com", is_staff=True)
    for _ in range(10):
        assert client.get(LOGIN).status_code == 200

    response = attempt(client, "staff@example.com", PASSWORD)

    assert response.status_code == 302 and response.url == "/admin/"


def test_non_staff_cannot_log_into_the_admin(client, user):
    response = attempt(client, user.email, PASSWORD)

    assert response.status_code == 200 and "_auth_user_id" not in client.session
    client.force_login(user)
    assert client.get("/admin/").status_code == 302


def test_createsuperuser_with_the_email_based_model(client, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD)

    call_command("createsuperuser", interactive=False, email="Root@EXAMPLE.com", verbosity=0)

    root = User.objects.get(email="Root@example.com")
    assert root.is_staff and root.is_superuser and root.is_active and root.email_verified
    assert root.check_password(SUPERUSER_PASSWORD)
    response = attempt(client, "root@example.com", SUPERUSER_PASSWORD)
    assert response.status_code == 302 and client.get("/admin/").status_code == 200
