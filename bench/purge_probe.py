"""Does purging dead sessions slow refreshes down? Refresh latency on PostgreSQL with `purge_sessions`
idle, then while it runs in another process over a large history of dead sessions.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<an empty database> .venv/bin/python bench/purge_probe.py

It migrates the database, seeds users and `--history` ended sessions (5 spent tokens each) with
bench/project_tasks.py, then times single-threaded refreshes (sessions_app.services.rotate_refresh_token)
for `--seconds` with the purge idle and again while `manage.py purge_sessions` runs, and prints the count,
p50 and p99 of each. In process, so it measures the database side of the interference, not the server's.
"""
import argparse
import os
from pathlib import Path
import subprocess
import sys
import time

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=300_000, help="dead sessions to purge (default 300000)")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--purge-args", default="", help='e.g. "--batch-size 200 --pause 0.05"')
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.RATELIMIT_ENABLE = False  # the limiter's cache is not what is measured
    call_command("migrate", verbosity=0)
    import project_tasks

    project_tasks.seed(200, "correct horse battery staple", None)
    project_tasks.history(args.history, 5, 200)

    from accounts.models import User
    from authcore.requestmeta import ClientInfo
    from sessions_app import services

    tokens = [services.start_session(user=user, client=ClientInfo()).refresh for user in User.objects.all()[:50]]

    def refresh_for(seconds: float) -> str:
        latencies, deadline, index = [], time.time() + seconds, 0
        while time.time() < deadline:
            slot = index % len(tokens)
            started = time.perf_counter()
            tokens[slot] = services.rotate_refresh_token(raw_refresh=tokens[slot], client=ClientInfo()).refresh
            latencies.append((time.perf_counter() - started) * 1000)
            index += 1
        latencies.sort()
        return (f"{len(latencies)} refreshes, p50 {latencies[len(latencies) // 2]:.2f} ms, "
                f"p99 {latencies[int(len(latencies) * 0.99)]:.2f} ms")

    print("purge idle:   ", refresh_for(args.seconds), flush=True)
    purge = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "purge_sessions", *args.purge_args.split()],
                             cwd=ROOT,
                             env=os.environ.copy(), stdout=subprocess.PIPE, text=True)
    print("during purge: ", refresh_for(args.seconds), flush=True)
    print("purge still running at the end of the window:", purge.poll() is None)
    print(purge.communicate()[0].strip())


if __name__ == "__main__":
    main()
