"""CI's short run of the load check (bench/load_check.py; `make load-check` runs the full minute): two
gunicorn processes on PostgreSQL and a private Redis, concurrent clients with replayed refresh tokens, every
database connection killed every 2 s, and no 5xx but a 503 for a request whose connection was killed, no
deadlock, no unexpected answer and consistent tables at the end."""
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys

from django.conf import settings
import pytest

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


def test_a_short_load_check_passes():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    database = settings.DATABASES["default"]
    admin_url = f"postgresql://{database['USER']}@{database['HOST']}:{database['PORT'] or 5432}/postgres"
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "load_check.py"), "--duration", "8",
                             "--clients", "8", "--terminate-every", "2", "--no-results", "--pg", admin_url],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "PATH": path})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "result: **passed**" in result.stdout
    # The database connections were really killed under the load, more than once.
    killed = int(re.search(r"(\d+) killed", result.stdout).group(1))
    assert killed >= 2, result.stdout
