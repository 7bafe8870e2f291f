"""Test helpers of accounts that other apps' tests use too (the kernel's are in authcore/testing.py)."""
from rest_framework.test import APIClient

from authcore.testing import PASSWORD

LOGIN_URL = "/api/auth/login/"


def login(client: APIClient, email: str = "alice@example.com", password: str = PASSWORD, **extra) -> dict:
    """Log in through the host project's JSON login; the login must succeed."""
    response = client.post(LOGIN_URL, {"email": email, "password": password}, **extra)
    assert response.status_code == 200, response.content
    return response.json()


def use_email_backend(settings, backend: str) -> None:
    """Send a test's emails through `backend` (`settings`: pytest-django's fixture): the default mailer where
    the settings have MAILERS (Django 6.1 and later), else EMAIL_BACKEND."""
    if hasattr(settings, "MAILERS"):
        settings.MAILERS = {**settings.MAILERS, "default": {"BACKEND": backend}}
    else:
        settings.EMAIL_BACKEND = backend
