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


def _checkout_for_make(tmp_path: Path, python: str) -> Path:
    """A directory `make .env` can run in: the Makefile and the code, and an installed venv whose Python is
    `python` (its stamp newer than the requirements, so make installs nothing)."""
    for name in ("Makefile", "config", "requirements.txt", "requirements-dev.txt"):
        (tmp_path / name).symlink_to(ROOT / name)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{python}" "$@"\n')
    (bin_dir / "python").chmod(0o755)
    (bin_dir / ".installed").touch()
    return tmp_path


def make(checkout: Path, *args: str) -> subprocess.CompletedProcess:
    # Not the calling make's jobserver or level (`make test` runs this suite).
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=checkout, env=env, capture_output=True,
                          text=True, timeout=120)


def test_make_writes_the_file_with_the_venvs_python_not_the_systems(tmp_path):
    """The system's Python has none of the project's packages (the signing key needs PyJWT): `make run` on a fresh
    clone must write .env with the venv's. PYTHON=/bin/false stands for a system Python that cannot."""
    checkout = _checkout_for_make(tmp_path, sys.executable)
    made = make(checkout, ".env", "PYTHON=/bin/false")
    assert made.returncode == 0, made.stdout + made.stderr
    values = dict(line.split("=", 1) for line in (checkout / ".env").read_text().splitlines())
    assert values["DEBUG"] == "true" and len(values["SECRET_KEY"]) >= 50
    assert (checkout / ".env").stat().st_mode & 0o077 == 0  # its secrets readable by its owner only


def test_a_failed_write_leaves_no_empty_file_behind(tmp_path):
    """An empty .env would be kept by make as up to date, and every later `make run` would stop on a missing
    SECRET_KEY: a write that fails leaves nothing."""
    checkout = _checkout_for_make(tmp_path, "/bin/false")
    made = make(checkout, ".env")
    assert made.returncode != 0
    assert not (checkout / ".env").exists() and not (checkout / ".env.new").exists()
