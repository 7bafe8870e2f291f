"""A Host header outside ALLOWED_HOSTS: 400 with the JSON envelope under /api/ (not Django's HTML page), and
no ERROR in the logs for what scanners send all day; Django's own log lines are printed once, DEBUG or not.
The logging checks run the project's logging configuration in a process of its own (pytest's log capture
would otherwise hang its own handlers on every logger)."""
from pathlib import Path
import subprocess
import sys

import pytest

from config.settings_test import TEST_SIGNING_KEYS

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", ["/api/auth/me/", "/api/auth/login/", "/api/nothing/"])
def test_api_requests_with_a_bad_host_get_the_envelope(client, path):
    response = client.get(path, HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request could not be accepted.", "code": "bad_request"}


def test_pages_with_a_bad_host_get_a_plain_400(client):
    response = client.get("/accounts/register/", HTTP_HOST="evil.example")
    assert response.status_code == 400 and b"Bad Request" in response.content


def run_project(script: str, debug: bool) -> tuple[str, str]:
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "ENV_FILE": "", "DEBUG": "true" if debug else "false",
           "SECRET_KEY": "log-test-secret-" + "k" * 48, "JWT_SIGNING_KEYS": TEST_SIGNING_KEYS,
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend", "SECURE_SSL_REDIRECT": "false",
           "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + script], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


BAD_HOST_REQUEST = """
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory
environ = RequestFactory().get("/api/auth/me/", HTTP_HOST="evil.example").environ
status = []
body = b"".join(WSGIHandler()(environ, lambda value, headers: status.append(value)))
print(status[0], body.decode())
"""


@pytest.mark.parametrize("debug", [False, True])
def test_a_bad_host_logs_nothing(debug):
    answer, log = run_project(BAD_HOST_REQUEST, debug)
    assert answer.startswith("400 Bad Request")
    if not debug:  # with DEBUG Django shows its technical page instead
        assert '{"detail": "The request could not be accepted.", "code": "bad_request"}' in answer
    assert log == "", log


@pytest.mark.parametrize("debug", [False, True])
def test_django_log_lines_are_printed_once(debug):
    _, log = run_project("import logging; logging.getLogger('django.template').warning('once-%s', 'only')", debug)
    assert log.count("once-only") == 1, log
