"""bench/middleware_costs.py, the per-middleware cost table the benchmark page quotes: it runs in the project's
settings and gives every middleware of MIDDLEWARE a row, so the table cannot leave one out or go stale."""
import os
from pathlib import Path
import re
import subprocess
import sys

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_middleware_gets_its_cost():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "middleware_costs.py"), "--requests", "200",
                             "--runs", "1"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"})
    assert result.returncode == 0, result.stderr[-3000:]
    rows = dict(re.findall(r"^\| `([\w.]+)` \| (-?[\d.]+) \|$", result.stdout, flags=re.M))
    assert list(rows) == list(settings.MIDDLEWARE)
    assert all(float(cost) < 1000 for cost in rows.values())  # microseconds, not seconds
