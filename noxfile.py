"""The Django version matrix: the whole suite on SQLite under each supported Django series.

    nox -s "tests(django='6.0')"            one series
    nox -s tests -- -x -k login             every series, options passed on to pytest

Each session's virtualenv (.nox/) is kept and reused; it holds the development pins (requirements-dev.txt)
with Django replaced by the session's series, resolved in one pip run so that a reused environment is
never downgraded to the pinned Django and upgraded again.
"""
import os
from pathlib import Path
import re

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_venv = "yes"
# An interpreter is found on this machine or the session fails: nothing is downloaded.
nox.options.download_python = "never"
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent

# Django 6.x needs Python >= 3.12, and the machine's default Python is 3.11: `python3.12` on PATH is a pyenv
# shim that fails unless PYENV_VERSION names 3.12, so that interpreter is given by its absolute path
# (NOX_PYTHON312 names another).
PYTHON_311 = os.environ.get("NOX_PYTHON311", "3.11")
PYTHON_312 = os.environ.get("NOX_PYTHON312", "/root/.pyenv/versions/3.12.1/bin/python3.12")

# Django series -> (interpreter, requirement). 5.2 is the pinned LTS; the others take the latest patch release
# of their series.
MATRIX = {
    "5.2": (PYTHON_311, None),
    "6.0": (PYTHON_312, "django~=6.0.0"),
    "6.1": (PYTHON_312, "django~=6.1.0"),
}

DJANGO_PIN = re.compile(r"^django\s*==", re.IGNORECASE)


def requirements_for(django: str | None, path: Path = ROOT / "requirements-dev.txt") -> list[str]:
    """The lines of a requirements file with its `-r` includes inlined and the Django pin replaced."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            lines += requirements_for(django, path.parent / line[3:].strip())
        elif django and DJANGO_PIN.match(line):
            lines.append(django)
        else:
            lines.append(line)
    return lines


@nox.session
@nox.parametrize(
    ("python", "django"),
    [nox.param(python, series, id=f"django='{series}'") for series, (python, _) in MATRIX.items()],
)
def tests(session: nox.Session, django: str) -> None:
    """The whole suite on SQLite under one Django series; arguments after `--` go to pytest."""
    requirement = MATRIX[django][1]
    # create_tmp also points TMPDIR at the session's own folder: the suite's temporary files (the served
    # project's email files, browser profiles) never meet those of a session running beside it.
    pins = Path(session.create_tmp()) / "requirements.txt"
    pins.write_text("\n".join(requirements_for(requirement)) + "\n")
    session.install("--quiet", "-r", str(pins))
    session.run("python", "-c", "import django, sys; print('Django', django.get_version(), 'on Python', sys.version)")
    # The models match their migrations under this Django too (an in-memory database: no file is left).
    session.run("python", "manage.py", "makemigrations", "--check", "--dry-run",
                env={"ENV_FILE": "", "DEBUG": "true", "DATABASE_URL": "sqlite://:memory:", "REDIS_URL": None})
    session.run("python", "-m", "pytest", *session.posargs, env={"DATABASE_URL": None, "REDIS_URL": None})
