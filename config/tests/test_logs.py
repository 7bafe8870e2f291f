"""Log lines: JSON on request (LOG_FORMAT=json) with the event name, request id, user, session and IP; a
request id on every line of a request and in its X-Request-ID header; no password, token or live link in
any line. The format checks run the project's logging in a process of its own."""
import json
import logging
from pathlib import Path
import subprocess
import sys

import pytest

from authcore.logs import RequestContextFilter
from authcore.testing import PASSWORD
from config.settings_test import TEST_SIGNING_KEYS

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

LOGINS = f"""
import json
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
get_user_model().objects.create_user("json@example.com", {PASSWORD!r}, email_verified_at=timezone.now())
handler = WSGIHandler()
for password in ("a wrong password entirely", {PASSWORD!r}):
    body = json.dumps({{"email": "json@example.com", "password": password}})
    environ = RequestFactory().post("/api/auth/login/", body, content_type="application/json",
                                    HTTP_X_REQUEST_ID="req-0123456789", REMOTE_ADDR="198.51.100.4").environ
    b"".join(handler(environ, lambda status, headers: print(status, dict(headers)["X-Request-ID"])))
"""


def test_json_lines_carry_the_event_request_ip_user_and_session(tmp_path):
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "ENV_FILE": "", "DEBUG": "false", "LOG_FORMAT": "json",
           "SECRET_KEY": "log-test-secret-" + "k" * 48, "JWT_SIGNING_KEYS": TEST_SIGNING_KEYS,
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend", "SECURE_SSL_REDIRECT": "false",
           "DATABASE_URL": f"sqlite:///{tmp_path}/logs.sqlite3", "SINGLE_PROCESS": "true",
           "ALLOWED_HOSTS": "testserver",
           "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + LOGINS], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["401 Unauthorized req-0123456789", "200 OK req-0123456789"]

    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    failure = next(line for line in lines if line.get("event") == "authn_login_fail")
    success = next(line for line in lines if line.get("event") == "authn_login_success")
    for line in (failure, success):
        assert line["request_id"] == "req-0123456789" and line["ip_address"] == "198.51.100.4"
        assert line["level"] == "INFO" and line["logger"] == "security"
    assert failure["user_id"] and len(failure["detail_account"]) == 32
    assert success["user_id"] == failure["user_id"] and success["session_id"]
    assert "wrong password" not in result.stderr and PASSWORD not in result.stderr


def test_every_answer_has_a_request_id(client):
    generated = client.get("/api/auth/csrf/")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/api/auth/csrf/", HTTP_X_REQUEST_ID="trace-abc-12345")["X-Request-ID"] == "trace-abc-12345"
    # Not a plausible id (too long, odd characters): replaced, never echoed into headers and logs.
    odd = client.get("/api/auth/csrf/", HTTP_X_REQUEST_ID="x\r\ninjected: yes" + "y" * 80)["X-Request-ID"]
    assert "injected" not in odd and len(odd) == 32
    # A line break at the end of an otherwise plausible id is no id either.
    assert client.get("/api/auth/csrf/", HTTP_X_REQUEST_ID="abcdefgh\n")["X-Request-ID"] != "abcdefgh\n"


@pytest.mark.parametrize("message", [
    "Not Found: /accounts/verify-email/MQ.c1w2x3-0123456789abcdef0123/",
    "Internal Server Error: /accounts/password-reset/ODQxMDU0.ditp2w-404b197fb455f3c87d0cb15ad7f91b91/",
    "Not Found: /accounts/change-email/ODQxMDU0.ditp2w-404b197fb455f3c87d0cb15ad7f91b91/",
    "Bad Request: /accounts/not-me/ImFiYyI:1vQ0Zx:0123456789abcdef0123_-AbCdEfGhIjKlMnOp/",
])
def test_link_tokens_are_blanked_in_log_lines(message):
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "%s", (message,), None)
    RequestContextFilter().filter(record)
    text = record.getMessage()
    assert "[redacted]" in text and "0123456789abcdef" not in text and "404b197f" not in text
