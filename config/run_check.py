"""CI's proof that `make run` works on a fresh clone (`make run-check`): start it, wait until /readyz answers 200
(the .env written, the SQLite database migrated, the cache answering), stop it with its task worker.

    .venv/bin/python config/run_check.py --port 8765
"""
import argparse
import contextlib
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = Path(__file__).resolve().parent.parent


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the whole process group (make, the development server, the task worker), SIGKILL if any is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
            break


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for /readyz")
    args = parser.parse_args(argv)
    # Only the .env the make target writes: no variable of the caller's environment may stand in for it.
    env = {key: value for key, value in os.environ.items()
           if key not in ("DEBUG", "SECRET_KEY", "JWT_SIGNING_KEY", "JWT_SIGNING_KEYS", "DATABASE_URL", "REDIS_URL",
                          "DJANGO_SETTINGS_MODULE", "ENV_FILE", "MAKEFLAGS", "MAKELEVEL")}
    url = f"http://127.0.0.1:{args.port}/readyz"
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={args.port}"], cwd=ROOT, env=env,
                                   stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        deadline = time.monotonic() + args.timeout
        try:
            while time.monotonic() < deadline and process.poll() is None and not ready(url):
                time.sleep(1)
            served = process.poll() is None and ready(url)
        finally:
            stop(process)
        if served:
            print(f"make run served {url} with 200")
            return 0
        output.seek(0)
        print(output.read().decode(errors="replace")[-4000:], file=sys.stderr)
        print(f"make run did not serve {url} with 200 within {args.timeout:.0f} s", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
