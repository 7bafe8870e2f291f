"""CI's proof that `make run` works on a fresh clone (`make run-check`): start it, wait until /readyz answers 200
(the .env written, the SQLite database migrated, the cache answering), stop it with its task worker.

    .venv/bin/python -m config.run_check --port 8765
"""
import argparse
import contextlib
import http.client
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from config.ses_emulator import port_is_free

ROOT = Path(__file__).resolve().parent.parent


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return False


# What `make run` may see of the caller's environment: what finds programs and packages, nothing the settings read
# (config/settings.py reads many variables; here only the .env that `make run` writes may configure them).
PASSED_ON = ("PATH", "HOME", "USER", "LANG", "TMPDIR", "TERM", "CI")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the whole process group (make, the development server and its reloader, the task worker), then
    SIGKILL to whatever of it is left after a grace period; returns once the group is gone."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            process.poll()  # reaps make, the group's leader, once it exits
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for /readyz")
    args = parser.parse_args(argv)
    env = {key: value for key, value in os.environ.items()
           if key in PASSED_ON or key.startswith(("LC_", "PIP_", "PYENV_"))}
    url = f"http://127.0.0.1:{args.port}/readyz"
    if not port_is_free(args.port):  # whatever listens there would answer for `make run`
        print(f"port {args.port} is in use: stop what listens there or pass another (RUN_CHECK_PORT)", file=sys.stderr)
        return 1
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
