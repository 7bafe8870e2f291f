"""Test helpers every app's tests share (the fixtures are in the root conftest.py): constants, and plain
functions for requests, errors and concurrency."""
from collections.abc import Callable
from datetime import UTC, datetime
import os
import threading

from django.db import connection
from rest_framework.test import APIClient

from .errors import ERRORS

PASSWORD = "correct horse battery staple"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]
CLOCK_START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LOGIN_URL = "/api/auth/login/"


def login(client: APIClient, email: str = "alice@example.com", password: str = PASSWORD, **extra) -> dict:
    """Log in through the host project's JSON login; the login must succeed."""
    response = client.post(LOGIN_URL, {"email": email, "password": password}, **extra)
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


def assert_error(response, status: int, code: str) -> dict:
    """The response is the error envelope {detail, code} with this status and code."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert ERRORS[code].status == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def run_at_once(count: int, work: Callable[[int], object]) -> list:
    """Run `work(i)` in `count` real threads released together by a barrier; returns the results in order.

    Each thread opens its own database connection before the barrier (so connecting does not spread the
    threads out) and closes it at the end. An exception in a thread is returned as its result."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - reported to the test, which fails on it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results
