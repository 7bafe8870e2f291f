"""Static files are served in production by the application itself (WhiteNoise): after `collectstatic`, a
gunicorn process with DEBUG off answers the admin's style sheet, and an unknown file is a 404."""
import subprocess
import sys

import pytest

from .servers import ROOT, Server, fetch, project_env


@pytest.fixture
def served(tmp_path):
    env = project_env(STATIC_ROOT=str(tmp_path / "static"))
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    server = Server(env)
    yield server
    server.stop()


def test_the_admins_style_sheet_is_served_with_debug_off(served):
    status, headers, body = fetch(f"{served.url}/static/admin/css/base.css")
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert "body" in body
    status, _, _ = fetch(f"{served.url}/static/admin/css/no-such-file.css")
    assert status == 404


def test_before_collectstatic_the_apps_own_files_are_served(tmp_path):
    """A process started before `collectstatic` (or without it) still serves the apps' files (found where
    they are), and the missing directory is no error."""
    server = Server(project_env(STATIC_ROOT=str(tmp_path / "not-collected")))
    try:
        status, headers, _ = fetch(f"{server.url}/static/admin/css/base.css")
    finally:
        server.stop()
    assert status == 200 and headers["Content-Type"].startswith("text/css")
