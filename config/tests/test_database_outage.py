"""PostgreSQL goes away and comes back: the service, a real gunicorn process on a private PostgreSQL instance
of this test's own (initdb + pg_ctl on another port, stopped by its PID), answers 503 with the envelope and
Retry-After at once during the outage, never a 500 and never a hang, and serves again as soon as the
database is back, without a restart."""
import contextlib
import glob
import json
import os
from pathlib import Path
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from authcore.testing import free_port

from .servers import ROOT, Server, fetch, project_env

pytestmark = pytest.mark.postgres
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1:] or [""]


def as_postgres(*command: str) -> list[str]:
    """PostgreSQL refuses to run as root; CI runs as root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


class PrivatePostgres:
    def __init__(self) -> None:
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="outage-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run(as_postgres(f"{PG_BIN[0]}/initdb", "-D", f"{self.directory}/data", "-A", "trust", "-U",
                                   "postgres", "--no-sync"), check=True, capture_output=True)
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(as_postgres(f"{PG_BIN[0]}/pg_ctl", "-D", f"{self.directory}/data", "-l",
                                   f"{self.directory}/log", "-w", "-o", options, "start"),
                       check=True, capture_output=True)

    @property
    def pid(self) -> int:
        return int(Path(f"{self.directory}/data/postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        pid = self.pid
        os.kill(pid, signal.SIGINT)  # fast shutdown: connections are cut, as in a crash or a failover
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise RuntimeError("the private PostgreSQL did not stop")

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # already stopped
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"


def call(url: str, token: str | None = None) -> tuple[int, dict, dict]:
    status, headers, body = fetch(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    return status, headers, json.loads(body or "{}")


def post_page(url: str, fields: dict) -> tuple[int, str]:
    """A browser's form post: the page first (for Django's CSRF cookie and token), then the form."""
    with urllib.request.urlopen(url, timeout=15) as page:
        cookie = page.headers["Set-Cookie"].split(";")[0]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
    data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
    status, _, body = fetch(url, data=data, headers={"Cookie": cookie, "Referer": url})
    return status, body


@pytest.fixture
def database():
    if not os.path.exists(f"{PG_BIN[0]}/initdb"):
        pytest.skip("PostgreSQL's server binaries are not installed")
    server = PrivatePostgres()
    yield server
    server.remove()


def test_the_service_answers_503_while_the_database_is_down_and_recovers_by_itself(database):
    env = project_env(DATABASE_URL=database.url, DATABASE_CONNECT_TIMEOUT="2")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    token = subprocess.run([sys.executable, "-c", (
        "import django; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.utils import timezone\n"
        "from sessions_app.tests.helpers import open_session\n"
        "user = get_user_model().objects.create_user('outage@example.com', None, email_verified_at=timezone.now())\n"
        "print(open_session(user).access)")], cwd=ROOT, env=env, check=True, capture_output=True,
        text=True).stdout.strip()
    server = Server(env)
    me = f"{server.url}/api/auth/me/"
    try:
        assert call(me, token)[0] == 200

        database.stop()
        for _ in range(3):
            began = time.monotonic()
            status, headers, body = call(me, token)
            assert status == 503, body
            assert body["code"] == "service_unavailable" and int(headers["Retry-After"]) > 0
            assert time.monotonic() - began < 5
        assert call(f"{server.url}/readyz")[2]["checks"]["database"] == "unavailable"
        status, body = post_page(f"{server.url}/accounts/password-reset/",
                                 {"email": "outage@example.com"})
        assert status == 503 and "Temporarily unavailable" in body

        database.start()
        status, _, body = call(me, token)
        assert status == 200 and body["email"] == "outage@example.com"
    finally:
        server.stop()


def test_a_database_error_outside_any_view_is_a_503_too(rf):
    """Raised by a middleware (the session being saved, say), it reaches handler500 instead of a view's
    handler: still "try again shortly"."""
    from django.db import OperationalError

    from config.urls import handler500

    for path, expected in (("/api/auth/me/", "application/json"), ("/accounts/register/", "text/html")):
        try:
            raise OperationalError("the server closed the connection")
        except OperationalError:
            response = handler500(rf.get(path))
        assert response.status_code == 503 and response["Retry-After"]
        assert response["Content-Type"].startswith(expected)
