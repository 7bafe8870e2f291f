"""Rate limits hold across processes: two gunicorn processes sharing one Redis (a private redis-server,
stopped by its PID) count one limit, and a spoofed X-Forwarded-For does not open a new budget when no
proxy is trusted."""
import dataclasses
import json
import os
from pathlib import Path
import time
import urllib.error
import urllib.request

from django.conf import settings
from django_ratelimit.core import _get_window
import pytest

from authcore.testing import REDIS_SERVER, PrivateRedis
from sessions_app.tests.dpop_client import DPoPKey
from sessions_app.tests.helpers import CLIENT, open_session

from .servers import Server, project_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
PUBLIC_ORIGIN = "https://auth.example.test"  # where clients think both processes are (behind one proxy)


def start_server(redis_url: str) -> Server:
    database = settings.DATABASES["default"]
    # A generous Redis timeout: on a busy machine a reply slower than the production 0.5 s would let that
    # attempt through uncounted (the cache-outage policy, tested elsewhere), and this test is about sharing.
    return Server(project_env(
        REDIS_URL=redis_url, SINGLE_PROCESS="false", REDIS_TIMEOUT="5", SITE_URL=PUBLIC_ORIGIN,
        # The tokens the test mints (with the test settings) are the servers' own.
        JWT_ISSUER=settings.SIMPLE_JWT["ISSUER"], JWT_AUDIENCE=settings.SIMPLE_JWT["AUDIENCE"],
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"))


def log_in(base: str, email: str, **headers) -> int:
    request = urllib.request.Request(f"{base}/api/auth/login/", method="POST",
                                     data=json.dumps({"email": email, "password": "not the password"}).encode(),
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def two_processes():
    if not os.path.exists(REDIS_SERVER):
        pytest.skip("redis-server is not installed")
    redis = PrivateRedis()
    servers = []
    try:
        for _ in range(2):
            servers.append(start_server(f"redis://127.0.0.1:{redis.port}/0"))
        yield [server.url for server in servers]
    finally:
        for server in servers:
            server.stop()
        redis.stop()


def current_window(value: str = "127.0.0.1", period: int = 60) -> float:
    """When django-ratelimit's fixed window for this key ends (windows are staggered per key)."""
    return _get_window(value, period)


def wait_for_a_fresh_window(needed: float = 20) -> float:
    """Start where the attempts fit in one window, or a counter reset midway would let the 31st through.
    Returns the window's end."""
    left = current_window() - time.time()
    if left < needed:
        time.sleep(max(left, 0.0) + 0.5)  # left can be just below zero: the window ends this second
    return current_window()


def attempts_until_refused(first: str, second: str) -> tuple[list[int], int | None]:
    """30 failed logins alternating between the processes, then more until one is refused (at most 35);
    returns the first 30 statuses and the number of the refused attempt."""
    # A different address each time keeps the per-account failure lock out of it; a spoofed
    # X-Forwarded-For changes nothing, no proxy being trusted.
    statuses = [log_in(first if attempt % 2 else second, f"visitor{attempt}@example.com",
                       **{"X-Forwarded-For": f"198.51.100.{attempt}"})
                for attempt in range(30)]
    for attempt in range(30, 36):
        if log_in(first if attempt % 2 else second, f"visitor{attempt}@example.com") == 429:
            return statuses, attempt
    return statuses, None


def test_the_per_ip_login_limit_is_one_limit_for_both_processes(two_processes):
    first, second = two_processes
    # 30 a minute per IP (accounts/limits.py). Each process sees 15 of the first 30 attempts: the 31st is
    # refused whichever answers it. With a count per process each would allow 30, and the first refusal
    # would come at the 61st. The attempts must fall in one fixed window of the counter: on a busy machine
    # they can take longer than planned (seen in the full run: 28 counted in one window, 8 in the next),
    # and then the round is played again in a fresh window.
    for _ in range(3):
        window = wait_for_a_fresh_window()
        started = time.monotonic()
        statuses, refused_at = attempts_until_refused(first, second)
        if current_window() == window:
            break
        wait_for_a_fresh_window(needed=60)  # the next round starts with an empty counter
    else:
        pytest.fail(f"three rounds of attempts each crossed a counter window (the last took "
                    f"{time.monotonic() - started:.1f} s)")
    assert statuses == [401] * 30
    # A margin of a few attempts (one going uncounted when a Redis reply is slow on a busy machine, the
    # cache-outage policy), far below the 61 that counting per process would allow.
    assert refused_at is not None, "no shared limit"
    assert log_in(second, "visitor99@example.com", **{"X-Forwarded-For": "203.0.113.200"}) == 429
    assert log_in(first, "visitor98@example.com") == 429


def test_a_dpop_proof_works_once_across_processes(two_processes, make_user):
    """Two processes behind one public address: a proof the first accepted is refused by the second, since both
    remember proofs in the one Redis."""
    first, second = two_processes
    key = DPoPKey()
    access = open_session(make_user(password=None),
                          client=dataclasses.replace(CLIENT, dpop_jkt=key.thumbprint)).access
    def me(base: str, proof: str) -> int:
        request = urllib.request.Request(f"{base}/api/auth/me/",
                                         headers={"Authorization": f"DPoP {access}", "DPoP": proof})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def proof() -> str:
        return key.proof("GET", "/api/auth/me/", access_token=access, htu=f"{PUBLIC_ORIGIN}/api/auth/me/")

    used = proof()
    assert me(first, used) == 200
    assert me(second, used) == 401  # the same proof, replayed at the other process
    assert me(second, proof()) == 200  # a fresh one: the second process itself was fine
