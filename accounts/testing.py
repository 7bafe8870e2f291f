"""Test helpers of accounts that other apps' tests use too (the kernel's are in authcore/testing.py)."""
from rest_framework.test import APIClient

from authcore.testing import PASSWORD

LOGIN_URL = "/api/auth/login/"


def login(client: APIClient, email: str = "alice@example.com", password: str = PASSWORD, **extra) -> dict:
    """Log in through the host project's JSON login; the login must succeed."""
    response = client.post(LOGIN_URL, {"email": email, "password": password}, **extra)
    assert response.status_code == 200, response.content
    return response.json()
