"""A development checkout needs no variables typed: `make run` writes `.env` (config/dev_env.py: DEBUG on,
random secrets), config/settings.py reads it, and without it (or with DEBUG off) the service still refuses
to start on development secrets."""
import json
import os
from pathlib import Path
import subprocess
import sys

from config.dev_env import development_env

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, **env) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items()
            if key not in ("DEBUG", "SECRET_KEY", "JWT_SIGNING_KEY", "JWT_SIGNING_KEYS", "DJANGO_SETTINGS_MODULE",
                           "ENV_FILE")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_the_written_file_has_debug_on_and_secrets_of_its_own():
    first, second = development_env(), development_env()
    values = dict(line.split("=", 1) for line in first.splitlines())
    assert values["DEBUG"] == "true"
    assert len(values["SECRET_KEY"]) >= 50 and len(values["JWT_SIGNING_KEY"].encode()) >= 32
    [signing_key] = json.loads(values["JWT_SIGNING_KEYS"].strip("'"))  # a real key: no development warning
    assert signing_key["kty"] == "EC" and signing_key["d"]
    assert first != second  # random each time: no shared development secret


def test_a_manage_py_command_runs_with_the_file_and_refuses_without_it(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(development_env())
    checked = manage("check", ENV_FILE=str(env_file))
    assert checked.returncode == 0 and "sessions_app.W020" not in checked.stderr + checked.stdout

    refused = manage("check", ENV_FILE=str(tmp_path / "missing.env"))
    assert refused.returncode != 0 and "SECRET_KEY must be set" in refused.stderr


def test_the_environment_wins_over_the_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(development_env())
    shown = manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)",
                   ENV_FILE=str(env_file), DEBUG="false")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == "False"
