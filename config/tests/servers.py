"""The project served as a real process for the tests that need one (outages, timeouts, several
processes): gunicorn with the production settings and an environment of the test's choosing."""
import contextlib
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from authcore.testing import free_port

ROOT = Path(__file__).resolve().parents[2]


def project_env(**overrides: str) -> dict:
    """The production settings with throwaway secrets, plain http and no shared cache unless given."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false",
           "SECRET_KEY": "served-test-secret-" + "k" * 48, "JWT_SIGNING_KEY": "served-test-jwt-" + "j" * 40,
           # Files, not memory: the start-up checks (run by `migrate`) refuse the in-memory backend.
           "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
           "EMAIL_FILE_PATH": str(Path(tempfile.gettempdir()) / "served-test-emails"), "SECURE_SSL_REDIRECT": "false",
           "ALLOWED_HOSTS": "127.0.0.1", "SINGLE_PROCESS": "true", "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    env.update(overrides)
    return env


class Server:
    """gunicorn (one worker) on a free port, stopped by its PID."""

    def __init__(self, env: dict) -> None:
        port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--no-control-socket"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(urllib.error.URLError, ConnectionError):
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2)
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=10)


def fetch(url: str, *, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, str]:
    """One request; (status, headers, body text), error statuses included."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()
