"""The benchmark: this project against a djangorestframework-simplejwt peer (bench/peer), side by side.

    make bench                                  # installs what it needs, then runs this with the defaults
    make bench BENCH_ARGS="--duration 20 --rounds 3 --vus 16"
    .venv/bin/python bench/run.py --help

Starts everything on 127.0.0.1 and stops everything it started (by process id, also on Ctrl-C and errors):
two fresh PostgreSQL databases, a private redis-server for the project, both projects under the same server
command. Seeds the same users into both, runs each scenario in rounds that alternate between the two
projects, with wrk (bench/wrk/scenario.lua) as the load generator, and writes bench/results/<timestamp>.json
and .md. bench/README.md says what is measured and how to read it.
"""
import argparse
import base64
from concurrent.futures import ThreadPoolExecutor
import contextlib
from datetime import UTC, datetime
import functools
import json
import math
import os
from pathlib import Path
import platform
import resource
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from project_tasks import USER_AGENT  # bench/ is on sys.path when this runs as a script

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEER_ROOT = BENCH / "peer"
LUA = BENCH / "wrk" / "scenario.lua"
SCENARIOS = ("login", "refresh", "me", "logout", "mixed", "sessions", "purge")
# The scenarios a plain `make bench` runs; sessions and purge prepare minutes of data (`make bench-scale`).
DEFAULT_SCENARIOS = ("login", "refresh", "me", "logout", "mixed")
# The load of a scenario, when it is another's (bench/wrk/scenario.lua): GET sessions/ is a GET me with another
# path; the purge's load is refreshes. A contestant may name its own (login with TOTP).
LUA_SCENARIO = {"sessions": "me", "purge": "refresh"}
# The servers a run starts: this project, this project again as an ASGI application under uvicorn (its database
# and Redis), the simplejwt peer with Django's seven default middleware, and the same peer with only the
# middleware simplejwt needs (Security and Common), which also serves the floor. With --growth, this project
# once more on a database of its own whose tables hold a long-running service's sessions (ours-grown).
PROJECTS = ("ours", "ours-asgi", "ours-grown", "peer", "lean")
# Who takes part in a scenario: a server and the way it is called. Each round runs every contestant of the
# scenario once, in an order that rotates from round to round.
CONTESTANTS = {
    "ours": {"server": "ours", "label": "ours"},
    # GET me with a DPoP-bound token and a fresh proof per request (sessions bound at minting; the proofs
    # signed before the round, outside the timing): what sender-constrained tokens cost beside bearer.
    "ours-dpop": {"server": "ours", "label": "ours, DPoP", "dpop": True},
    # The same code served as ASGI by uvicorn (as many workers; a connection pool in each, DATABASE_POOL_MAX_SIZE
    # --asgi-pool, since Django's persistent connections pile up under ASGI, one per request's thread), beside the
    # WSGI server of the run.
    "ours-asgi": {"server": "ours-asgi", "label": "ours, ASGI (uvicorn)"},
    # Login for an account with an authenticator app: the password step (401 mfa_required and its mfa_token),
    # then the code (the TOTP codes of the round computed before it). Two requests per login: its rps counts
    # logins, its latencies are per request.
    "ours-totp": {"server": "ours", "label": "ours, login with TOTP", "lua": "login_totp", "requests_per_op": 2},
    # With --growth: the same code on tables a long-running service grows (a million sessions, a fifth of
    # them live, five million refresh tokens), beside ours on small tables.
    "ours-grown": {"server": "ours-grown", "label": "ours, grown tables"},
    # Refreshes while manage.py purge_sessions deletes --purge-sessions dead sessions (seeded before each
    # round of the purge scenario, outside the timing); the round lasts as long as the purge.
    "ours-purging": {"server": "ours", "label": "ours, during a purge", "purge": True},
    # GET sessions/ as a user with 3 sessions, and as a user after --crowd-logins logins (the cap ends the
    # oldest past SESSIONS_APP["MAX_SESSIONS_PER_USER"]): the list and its cost stay bounded.
    "sessions-few": {"server": "ours", "label": "a user with 3 sessions", "path": "/api/auth/sessions/",
                     "crowd": "few", "reference": True},
    "sessions-crowded": {"server": "ours", "label": "a user after many logins", "path": "/api/auth/sessions/",
                         "crowd": "crowded", "versus": "sessions-few"},
    "peer": {"server": "peer", "label": "peer"},
    "lean": {"server": "lean", "label": "lean peer"},
    # A DRF view with no authentication and no query behind the lean peer's two middleware: the floor that
    # any authenticated GET stands on.
    "floor": {"server": "lean", "label": "floor (no auth)", "path": "/api/floor/", "anonymous": True},
}
SCENARIO_CONTESTANTS = {
    "login": ("ours", "ours-totp", "ours-asgi", "ours-grown", "peer"),
    "refresh": ("ours", "ours-asgi", "ours-grown", "peer", "lean"),
    "me": ("ours", "ours-dpop", "ours-asgi", "ours-grown", "peer", "lean", "floor"),
    "logout": ("ours", "peer"),
    "mixed": ("ours", "peer"),
    "sessions": ("sessions-few", "sessions-crowded"),
    "purge": ("ours", "ours-purging"),
}
# The targets a run reports as passed or failed (docs/explanation/benchmark.md): scenario, the two
# contestants of the ratio (rps of the first over the second), how the rounds are read, the bound.
#   median       the median of the per-round ratios is at least the bound
#   every_round  every round's ratio is at least the bound
#   p99_lower    the first's pooled p99 is below the second's
#   p99_within   the first's pooled p99 is at most the bound times the second's
#   beyond_hash  the first's machine time per login beyond the password check alone, as a share of the check's
#                (median of the rounds; beyond_the_hash), is under the bound; the second's share is shown beside it
#                (a login that does little more than the hash: what any login pays on the machine)
# An rps ratio of at least 0.8 is a mean latency within 1.25x: each VU sends its next request when the last
# is answered, so its mean latency is the inverse of its rate.
TARGETS = (
    ("me", "ours", "lean", "median", 1.3, "GET me at least 1.3x the lean simplejwt peer"),
    ("me", "ours", "lean", "p99_lower", None, "GET me p99 below the lean peer's"),
    ("me", "ours", "floor", "median", 0.6, "GET me at least 60% of the no-auth floor"),
    ("refresh", "ours", "peer", "every_round", 3.0, "refresh at least 3x the peer in every round"),
    ("login", "ours", "peer", "median", 1.0, "login at least 1.0x the peer (the same Argon2 parameters)"),
    ("login", "ours", "peer", "beyond_hash", 0.2, "login's work beyond the password hash under 20% of the hash"),
    ("sessions", "sessions-crowded", "sessions-few", "median", 0.8,
     "GET sessions/ after the logins within 1.25x of a user with 3 sessions"),
    ("purge", "ours-purging", "ours", "p99_within", 1.5, "refresh p99 during a purge within 1.5x of p99 without"),
    ("me", "ours-grown", "ours", "median", 0.8, "growth: GET me within 1.25x of small tables"),
    ("me", "ours-grown", "ours", "p99_within", 1.25, "growth: GET me p99 within 1.25x of small tables"),
    ("refresh", "ours-grown", "ours", "median", 0.8, "growth: refresh within 1.25x of small tables"),
    ("refresh", "ours-grown", "ours", "p99_within", 1.25, "growth: refresh p99 within 1.25x of small tables"),
    ("login", "ours-grown", "ours", "median", 0.8, "growth: login within 1.25x of small tables"),
)
# Every seeded user's password (seeding stores one precomputed hash and runs no password validation).
PASSWORD = "bench-correct-horse-battery-staple"
# Above this share of the machine's CPU used by other processes during a round, the table warns.
NOISY_OTHER_CPU_PERCENT = 10
# Scenarios whose virtual users each start from one minted session (logout spends its own pool).
SESSION_SCENARIOS = ("refresh", "me", "mixed", "purge")
APPS = {
    "ours": {"root": ROOT, "wsgi": "config.wsgi:application", "asgi": "config.asgi:application",
             "manage": ROOT / "manage.py", "settings": "config.settings"},
    "peer": {"root": PEER_ROOT, "wsgi": "peerproject.wsgi:application", "asgi": "peerproject.asgi:application",
             "manage": PEER_ROOT / "manage.py", "settings": "peerproject.settings"},
}
APPS["lean"] = APPS["peer"]  # the same code, with PEER_MIDDLEWARE=lean, on the peer's database
APPS["ours-asgi"] = APPS["ours"]
APPS["ours-grown"] = APPS["ours"]
# The name each contestant goes by in the results; with --baseline the peer's place is this project at an
# earlier commit.
LABELS = {name: contestant["label"] for name, contestant in CONTESTANTS.items()}
# Seeding and minting, run in each project's environment.
PROJECT_TASKS = [sys.executable, str(BENCH / "project_tasks.py")]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class BenchError(Exception):
    pass


# --- processes we start, and only those -------------------------------------------------------------------

class Service:
    """A long-running process we started, in its own process group so that its workers go with it."""

    def __init__(self, name: str, command: list[str], *, env: dict, cwd: Path, log_path: Path):
        self.name = name
        self.command = command
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the process we started (gunicorn, uvicorn and granian stop their workers on it), then
        SIGKILL to its process group if anything of it is left after a grace period."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.pid, 0)  # anything left in the group we created?
            except (ProcessLookupError, PermissionError):
                break
            os.killpg(self.pid, sig)
            time.sleep(1)
        if self.alive():
            self.process.wait(timeout=5)
        self._log.close()


class CpuMeter:
    """The share of the machine's CPU that went to processes other than the benchmark's during a run: the
    machine may be shared, and a round that lost CPU to someone else says little. The benchmark's own are
    the process groups it started (servers, Redis), its databases' PostgreSQL backends, wrk and itself."""

    def __init__(self, databases: "Databases", groups: dict[int, str]):
        # groups: process group id -> the name of the service it runs (a server, Redis)
        self.databases, self.groups = databases, dict(groups)
        self.ticks_per_second = os.sysconf("SC_CLK_TCK")
        # Our processes that end during a round (the purge's PostgreSQL backend) take their CPU time with them:
        # in such a round a sampler looks every second and keeps the last count of each.
        self._seen: dict[int, int] = {}
        self._sampling: threading.Event | None = None

    @staticmethod
    def _busy_ticks() -> int:
        # Interrupt time is left out: on loopback it is mostly the benchmark's own traffic, and belongs to
        # no process. Time the hypervisor stole counts: the benchmark did not get it.
        user, nice, system, _idle, _iowait, _irq, _softirq, steal = (
            int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
        return user + nice + system + steal

    def _our_process_ticks(self, backends: set[int] | None = None) -> dict[int, tuple[str, int]]:
        """CPU ticks of each process of ours, with whose it is: a service's name, or "postgres"."""
        backends = set(self.databases.backend_pids()) if backends is None else backends
        ticks = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp ...
            pid = int(entry.name)
            owner = "postgres" if pid in backends else self.groups.get(int(fields[2]))
            if owner is not None:
                ticks[pid] = (owner, int(fields[11]) + int(fields[12]))  # utime + stime
        return ticks

    def snapshot(self) -> dict:
        children, itself = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
        return {"at": time.monotonic(), "busy": self._busy_ticks(), "processes": self._our_process_ticks(),
                "waited": children.ru_utime + children.ru_stime + itself.ru_utime + itself.ru_stime}

    def start(self, *, processes_end: bool = False) -> dict:
        """The counts at a round's start; where processes of ours end during it, the sampler runs until
        finish (on one connection of its own, so that it does not fork a backend a second)."""
        start = self.snapshot()
        self._seen, self._sampling = dict(start["processes"]), None
        if processes_end:
            self._sampling = threading.Event()
            threading.Thread(target=self._sample, args=(self._sampling,), daemon=True).start()
        return start

    def _sample(self, stop: threading.Event) -> None:
        with self.databases.connect() as connection:
            while not stop.wait(1.0):
                self._seen.update(self._our_process_ticks(self.databases.backend_pids(connection)))

    def finish(self, start: dict) -> tuple[float, dict[str, float]]:
        """The share of the machine's CPU that others used since `start` (percent), and the CPU seconds of ours
        by owner: each service, "postgres" (the databases' backends) and "load" (wrk and this script)."""
        if self._sampling is not None:
            self._sampling.set()
        end = self.snapshot()
        processes = {**self._seen, **end["processes"]}
        by_owner: dict[str, float] = {}
        for pid, (owner, ticks) in processes.items():
            spent = ticks - start["processes"].get(pid, (owner, 0))[1]
            by_owner[owner] = by_owner.get(owner, 0) + spent / self.ticks_per_second
        by_owner["load"] = end["waited"] - start["waited"]  # wrk (waited for) and run.py
        ours = sum(by_owner.values()) * self.ticks_per_second
        capacity = (end["at"] - start["at"]) * self.ticks_per_second * (os.cpu_count() or 1)
        other = round(max(0.0, end["busy"] - start["busy"] - ours) * 100 / capacity, 1) if capacity else 0.0
        return other, by_owner


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_checked(command: list[str], *, env: dict, cwd: Path, what: str) -> str:
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


# --- PostgreSQL and Redis ---------------------------------------------------------------------------------

class Databases:
    def __init__(self, admin_url: str):
        import psycopg  # the project's driver, already in the virtualenv

        self._psycopg = psycopg
        self.admin_url = admin_url
        self.created: list[str] = []

    def connect(self):
        return self._psycopg.connect(self.admin_url, autocommit=True)

    def _execute(self, sql: str, connection=None) -> list:
        try:
            with contextlib.nullcontext(connection) if connection is not None else self.connect() as connection:
                cursor = connection.execute(sql)
                return cursor.fetchall() if cursor.description else []
        except self._psycopg.Error as error:
            raise BenchError(f"PostgreSQL ({self.admin_url}): {error}") from None

    def backend_pids(self, connection=None) -> list[int]:
        """The PostgreSQL backends serving the benchmark's databases (on `connection`, else a new one)."""
        if not self.created:
            return []
        names = ", ".join(f"'{name}'" for name in self.created)
        return [row[0] for row in self._execute(f"SELECT pid FROM pg_stat_activity WHERE datname IN ({names})",
                                                connection)]

    def server_version(self) -> str:
        return self._execute("SHOW server_version")[0][0]

    def checkpoint(self) -> None:
        """Write out the dirty pages now (a superuser's or pg_checkpoint's right), before a timed run. PostgreSQL
        starts a checkpoint every checkpoint_timeout (5 minutes by default) and, for a while after it, the first
        change of each page writes the whole page to the WAL, so a run that met one wrote more than the others. Every
        run now starts just after a checkpoint, each paying that the same, and a run shorter than checkpoint_timeout
        meets no timed one (a purge round, longer, still can). It does not remove the machine's other drift."""
        self._execute("CHECKPOINT")

    def create(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)

    def drop_all(self) -> None:
        for name in self.created:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()

    def url_for(self, name: str) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{name}"


def wait_for_redis(port: int, service: Service, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise BenchError(f"redis-server exited:\n{service.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchError("redis-server did not answer PING")


# --- the two projects -------------------------------------------------------------------------------------

def signing_keys(args) -> str:
    """The service's access-token key for this run (none for HS256): one per run, shared by every server started."""
    return _signing_keys(getattr(args, "signing", "ES256"))


@functools.cache
def _signing_keys(algorithm: str) -> str:
    if algorithm == "HS256":
        return ""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm
    if algorithm == "EdDSA":
        jwk = OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate())
    else:
        jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()))
    return json.dumps([{**json.loads(jwk), "alg": algorithm}])


def project_env(project: str, *, port: int, database_url: str, redis_url: str | None, args) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "PYTHONPATH"}}
    env.update({
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
        "JWT_SIGNING_KEYS": signing_keys(args),
        "JWT_SIGNING_ALGORITHM": getattr(args, "signing", "ES256"),
        "MFA_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": database_url,
        # Long enough that the access tokens minted before the first round outlive the last one; the
        # same lifetime on both sides.
        "JWT_ACCESS_TOKEN_LIFETIME": "86400",
        "DJANGO_SETTINGS_MODULE": APPS[project]["settings"],
        "DATABASE_CONN_MAX_AGE": str(args.conn_max_age),
        "PYTHONUNBUFFERED": "1",
    })
    if APPS[project]["settings"] == "config.settings":  # this project (also its --baseline checkout)
        env.update({
            # Each its own Redis database, when both sides are this project.
            "REDIS_URL": redis_url.rsplit("/", 1)[0] + {"ours": "/0", "ours-grown": "/2"}.get(project, "/1"),
            # Files in a temporary directory: nothing is sent during a benchmark, and the start-up checks
            # refuse the console, dummy and in-memory backends with DEBUG off.
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(Path(tempfile.gettempdir()) / "bench-emails"),
            # Rate limits and the login lockout off: the scenarios hammer a few accounts from one address,
            # which the limits exist to refuse; the peer has none. The bench measures the auth path itself.
            "RATELIMIT_ENABLE": "false",
            # Plain HTTP on loopback: no redirect to https (the production proxy terminates TLS).
            "SECURE_SSL_REDIRECT": "false",
        })
    else:
        env["DATABASE_CONN_HEALTH_CHECKS"] = "true" if args.peer_health_checks else "false"
        # One issuer for the peer and the lean peer, which verify each other's tokens (one database).
        env["JWT_ISSUER"] = "http://peer.bench.invalid"
        if project == "lean":
            env["PEER_MIDDLEWARE"] = "lean"
    return env


def serves_asgi(args) -> bool:
    return args.server == "uvicorn" or "uvicorn" in args.worker_class.lower()


def server_command(project: str, port: int | str, args) -> list[str]:
    app = APPS[project]
    python = sys.executable
    if project == "ours-asgi":
        return [python, "-m", "uvicorn", app["asgi"], "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(args.workers), "--no-access-log", "--app-dir", str(app["root"])]
    if args.server == "gunicorn":
        command = [python, "-m", "gunicorn", app["asgi"] if serves_asgi(args) else app["wsgi"],
                   "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
                   "--worker-class", args.worker_class, "--chdir", str(app["root"]),
                   # gunicorn's control socket has one default path per user: two masters would share it.
                   "--no-control-socket"]
        if args.threads:
            command += ["--threads", str(args.threads)]
    elif args.server == "uvicorn":
        command = [python, "-m", "uvicorn", app["asgi"], "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(args.workers), "--no-access-log", "--app-dir", str(app["root"])]
    elif args.server == "granian":
        command = [str(Path(python).parent / "granian"), "--interface", "wsgi", "--host", "127.0.0.1",
                   "--port", str(port), "--workers", str(args.workers), "--working-dir", str(app["root"]),
                   app["wsgi"]]
        if args.threads:
            command[-1:-1] = ["--blocking-threads", str(args.threads)]
    else:
        raise BenchError(f"unknown server {args.server}")
    return command + shlex.split(args.server_args)


def display_command(command: list[str]) -> str:
    """The command as a person would type it from the repository root."""
    return " ".join("python" if part == sys.executable
                    else os.path.relpath(part, ROOT) if part.startswith("/") else part for part in command)


def http(method: str, url: str, *, body: dict | None = None, token: str | None = None,
         headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else {}
    except ValueError:
        return status, {"raw": raw[:200].decode(errors="replace")}


def wait_until_answering(name: str, base_url: str, service: Service, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise BenchError(f"{name} server exited:\n{service.log_tail()}")
        try:
            status, _ = http("GET", f"{base_url}/api/auth/me/")
        except OSError:
            time.sleep(0.2)
            continue
        if status != 401:
            raise BenchError(f"{name}: GET /api/auth/me/ without a token answered {status}, expected 401 "
                             f"(a redirect means the settings are wrong for plain HTTP):\n{service.log_tail()}")
        return
    raise BenchError(f"{name} did not answer within {timeout:.0f} s:\n{service.log_tail()}")


def smoke_test(name: str, base_url: str) -> None:
    """One pass through every endpoint, so that a misconfiguration fails loudly instead of as a table of
    errors: login, me, refresh, me with the new token, logout."""
    steps = []
    status, body = http("POST", f"{base_url}/api/auth/login/", body={"email": "user0@bench.example",
                                                                      "password": PASSWORD})
    steps.append(("login", status, 200))
    if status == 200:
        steps.append(("me", http("GET", f"{base_url}/api/auth/me/", token=body["access"])[0], 200))
        status, pair = http("POST", f"{base_url}/api/auth/refresh/", body={"refresh": body["refresh"]})
        steps.append(("refresh", status, 200))
        if status == 200:
            steps.append(("me after refresh", http("GET", f"{base_url}/api/auth/me/", token=pair["access"])[0], 200))
            # The project answers 204, simplejwt's blacklist view 200: any 2xx is a logout.
            logout_status = http("POST", f"{base_url}/api/auth/logout/", body={"refresh": pair["refresh"]})[0]
            steps.append(("logout", logout_status, "2xx"))
    failed = [f"{step}: {got} (expected {want})" for step, got, want in steps
              if not (got == want or (want == "2xx" and 200 <= got < 300))]
    if failed:
        raise BenchError(f"{name} smoke test failed: " + "; ".join(failed) + f"; login answer: {body}")


# --- wrk ----------------------------------------------------------------------------------------------------

def run_wrk(base_url: str, scenario: str, tokens: Path | None, *, duration: float, max_per_vu: int, args,
            log_path: Path, extra: list[str] = (), until: subprocess.Popen | None = None) -> dict:
    """One timed run of wrk; `scenario` is the Lua scenario. With `until`, the run ends when that process does
    (or at `duration`, whichever comes first)."""
    command = ["wrk", "-t", str(args.vus), "-c", str(args.vus), "-d", f"{max(1, math.ceil(duration))}s",
               "--timeout", f"{args.timeout}s", "-s", str(LUA), base_url, "--",
               f"scenario={scenario}", f"vus={args.vus}", f"users={args.users}", f"password={PASSWORD}",
               f"max={max_per_vu}", f"mix={args.mix}", f"agent={USER_AGENT}"]
    if tokens is not None:
        command.append(f"tokens={tokens}")
    command += extra
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    # wrk runs for its duration (the time bound). The count bound: the first VU to reach its share says so,
    # and wrk is told to finish (SIGINT: it stops within 0.1 s and reports the time it actually ran). The
    # VUs progress alike, so the others have then made about as many requests. A watchdog ends a hung wrk.
    watchdog = threading.Timer(duration + args.timeout + 30, lambda: process.poll() is None and process.kill())
    watchdog.start()
    if until is not None:
        threading.Thread(target=lambda: (until.wait(), _interrupt_until_exit(process)), daemon=True).start()
    interrupting, result, output = None, None, []
    try:
        for line in process.stdout:
            if line.startswith("VU_DONE"):
                if interrupting is None:
                    interrupting = threading.Thread(target=_interrupt_until_exit, args=(process,), daemon=True)
                    interrupting.start()
            elif line.startswith("BENCH_JSON "):
                result = json.loads(line[len("BENCH_JSON "):])
            else:
                output.append(line)
        process.wait()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    with log_path.open("a") as wrk_log:
        wrk_log.write(f"$ {shlex.join(command)}\n{''.join(output)}\n")
    if result is None:
        raise BenchError(f"wrk gave no result for {scenario} ({process.returncode}):\n{''.join(output)[-3000:]}")
    result["errors"] = result["unexpected_status"] + sum(result["socket_errors"].values())
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6) if result["duration_us"] else 0.0
    result["p50_us"], result["p90_us"], result["p99_us"] = (pooled_percentiles([result])[q] for q in (50, 90, 99))
    return result


def _interrupt_until_exit(process: subprocess.Popen) -> None:
    # wrk ignores SIGINT for a moment while it starts its threads, so repeat until it is gone.
    while process.poll() is None:
        try:
            os.kill(process.pid, signal.SIGINT)
        except ProcessLookupError:
            return
        time.sleep(0.5)


def pooled_percentiles(runs: list[dict], wanted=(50, 90, 99)) -> dict:
    """Percentiles over the requests of several wrk runs: each run's percentile grid stands for the share
    of its requests between two grid points, so larger runs weigh more. Exact for a single run."""
    samples = []
    for run in runs:
        count, latency = run["requests"], run["latency_us"]
        if not count or not latency["percentiles"]:
            continue
        previous = 0.0
        for percent, value in latency["percentiles"]:
            samples.append((value, count * (percent - previous) / 100))
            previous = percent
        samples.append((latency["max"], count * (100 - previous) / 100))
    samples.sort()
    total = sum(weight for _, weight in samples)
    found = {}
    for q in wanted:
        target, seen = total * q / 100, 0.0
        found[q] = None
        for value, weight in samples:
            seen += weight
            if seen >= target - 1e-9:
                found[q] = value
                break
    return found


# --- results ------------------------------------------------------------------------------------------------

def summarise(runs: list[dict]) -> dict:
    requests = sum(run["requests"] for run in runs)
    seconds = sum(run["duration_us"] for run in runs) / 1e6
    percentiles = pooled_percentiles(runs)
    return {
        "rounds": len(runs),
        "requests": requests,
        "errors": sum(run["errors"] for run in runs),
        "seconds": round(seconds, 3),
        "rps": round(requests / seconds, 1) if seconds else 0.0,
        "rps_by_round": [round(run["rps"], 1) for run in runs],
        "other_cpu_percent_by_round": [run["other_cpu_percent"] for run in runs],
        "cpu_us_per_request": {part: _median([run["cpu_us_per_request"][part] for run in runs
                                              if run.get("cpu_us_per_request", {}).get(part) is not None])
                               for part in ("server", "postgres", "load")},
        "p50_ms": _ms(percentiles[50]), "p90_ms": _ms(percentiles[90]), "p99_ms": _ms(percentiles[99]),
        **({"purges": [run["purge"] for run in runs]} if any("purge" in run for run in runs) else {}),
        **beyond_the_hash(runs),
    }


def beyond_the_hash(runs: list[dict]) -> dict:
    """A login's machine time beyond its password check, per round: the server's and PostgreSQL's time per login
    less the check's CPU time alone (Prepared.hash_cost); the load generator's is not the service's work. The check
    is the median of its timings after each of the run's login rounds: a timing lasts a second or two, and one
    that met a hiccup of the machine would otherwise make its round's figure. {} for other scenarios' runs."""
    timed = [run for run in sorted(runs, key=lambda run: run["round"]) if run.get("hash_us")
             and None not in (run.get("cpu_us_per_request", {}).get(part) for part in ("server", "postgres"))]
    if not timed:
        return {}
    hash_us = statistics.median(run["hash_us"] for run in timed)
    beyond = [run["cpu_us_per_request"]["server"] + run["cpu_us_per_request"]["postgres"] - hash_us for run in timed]
    return {"hash_us": round(hash_us), "beyond_hash_us": round(statistics.median(beyond)),
            # Unrounded: the target compares it with its bound (_beyond_hash_verdict).
            "beyond_hash_share": statistics.median(beyond) / hash_us,
            "beyond_hash_share_by_round": [round(value / hash_us, 3) for value in beyond]}


def _median(values: list) -> float | None:
    return round(statistics.median(values)) if values else None


def _ms(microseconds) -> float | None:
    return None if microseconds is None else round(microseconds / 1000, 2)


def comparison_pairs(names) -> list[tuple[str, str]]:
    """The ratios a scenario reports: ours over every other contestant, each variant of ours (DPoP, grown
    tables, during a purge) over plain ours, which is what the variant costs, and a contestant over the one it
    names as its reference (`versus`)."""
    pairs = []
    for name in names:
        contestant = CONTESTANTS[name]
        if "versus" in contestant:
            pairs.append((name, contestant["versus"]))
        elif name != "ours" and not contestant.get("reference"):
            pairs.append((name, "ours") if name.startswith("ours-") else ("ours", name))
    return pairs


def compare(first_runs: list[dict], second_runs: list[dict], first: dict, second: dict) -> dict:
    """first/second: the pooled ratios, and the rps ratio of each round (the rounds run back to back, so a
    round's ratio is the least disturbed by the machine's drift)."""
    by_round = [round(a["rps"] / b["rps"], 3) if b["rps"] else None
                for a, b in zip(sorted(first_runs, key=lambda run: run["round"]),
                                sorted(second_runs, key=lambda run: run["round"]), strict=True)]
    valid = [ratio for ratio in by_round if ratio is not None]
    ratios = {key: round(first[key] / second[key], 3) if first[key] and second[key] else None
              for key in ("rps", "p50_ms", "p90_ms", "p99_ms")}
    return {**ratios, "rps_by_round": by_round, "rps_median": round(statistics.median(valid), 3) if valid else None,
            "rps_min": min(valid, default=None), "rps_max": max(valid, default=None)}


def evaluate_targets(summary: dict, comparisons: dict) -> list[dict]:
    verdicts = []
    for scenario, first, second, rule, bound, text in TARGETS:
        comparison = comparisons.get(scenario, {}).get(f"{first}/{second}")
        verdict = {"target": text, "scenario": scenario, "first": first, "second": second, "rule": rule,
                   "bound": bound}
        if comparison is None:
            verdicts.append({**verdict, "measured": "-", "result": "not run"})
            continue
        if rule == "beyond_hash":
            verdicts.append({**verdict, **_beyond_hash_verdict(summary[scenario][first], summary[scenario][second],
                                                               LABELS[second], bound)})
            continue
        a, b = summary[scenario][first], summary[scenario][second]
        if rule in ("p99_lower", "p99_within"):
            known = a["p99_ms"] is not None and b["p99_ms"] is not None
            if rule == "p99_lower":
                passed = known and a["p99_ms"] < b["p99_ms"]
                measured = f"{a['p99_ms']} ms against {b['p99_ms']} ms"
            else:
                passed = known and a["p99_ms"] <= bound * b["p99_ms"]
                measured = (f"{a['p99_ms']} ms against {b['p99_ms']} ms ({a['p99_ms'] / b['p99_ms']:.2f}x)"
                            if known and b["p99_ms"] else "-")
        else:
            value = comparison["rps_median"] if rule == "median" else comparison["rps_min"]
            passed = value is not None and value >= bound
            spread = f"{comparison['rps_min']:.2f}-{comparison['rps_max']:.2f}" if value is not None else "-"
            measured = (f"median {comparison['rps_median']:.2f}x, rounds {spread}" if value is not None else "-")
        result = "PASS" if passed else "FAIL"
        if a["errors"] or b["errors"]:
            result = "INVALID (errors)"
        verdicts.append({**verdict, "measured": measured, "result": result})
    return verdicts


def _beyond_hash_verdict(row: dict, beside: dict, beside_label: str, bound: float) -> dict:
    if "beyond_hash_share" not in row:
        return {"measured": "-", "result": "not run"}
    shares = row["beyond_hash_share_by_round"]
    measured = (f"{row['beyond_hash_us']} µs beyond a {row['hash_us']} µs check: "
                f"median {row['beyond_hash_share']:.1%}, rounds {min(shares):.1%}-{max(shares):.1%}"
                + (f"; {beside_label}: {beside['beyond_hash_share']:.1%}" if "beyond_hash_share" in beside else ""))
    if row["errors"]:
        result = "INVALID (errors)"
    elif row["beyond_hash_share"] < 0:  # less than the check itself: the CPU accounting missed part of the logins
        result = "INVALID (below the check)"
    else:
        result = "PASS" if row["beyond_hash_share"] < bound else "FAIL"
    return {"measured": measured, "result": result}


def markdown_table(summary: dict, comparisons: dict, targets: list[dict], meta: dict) -> str:
    machine, config = meta["machine"], meta["config"]
    lines = [
        f"- {meta['started_at']}, commit {meta['commit']}{' + uncommitted changes' if meta['dirty'] else ''}",
        f"- {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB, PostgreSQL "
        f"{meta['postgresql']}, load average at start {machine['load_average_at_start'][0]}",
        f"- server (all): `{meta['server_command']}`; access tokens: {config['signing']} (the peers: HS256)",
        *([f"- ours, ASGI: `{meta['asgi_command']}`, " + (f"DATABASE_POOL_MAX_SIZE {config['asgi_pool']}"
           if config.get("asgi_pool") else "DATABASE_CONN_MAX_AGE 0 (a connection per request)")]
          if meta.get("asgi_command") else []),
        f"- load: wrk, {config['vus']} connections (one virtual user each); rounds per scenario: "
        f"{config['rounds']}, the contestants' order rotating from round to round, each {config['duration']:g} s "
        f"or {config['max_requests']} requests; {config['users']} users; mixed = me,refresh,login {config['mix']}; "
        f"DATABASE_CONN_MAX_AGE {config['conn_max_age']} (all{' but ASGI' if meta.get('asgi_command') else ''})",
        *([f"- growth: ours, grown tables holds {meta['growth']['sessions']} sessions ({meta['growth']['live']} "
           f"live, {meta['growth']['dead']} ended) and {meta['growth']['tokens']} refresh tokens of "
           f"{config['growth_users']} users; ours holds only the run's own"] if meta.get("growth") else []),
        *([f"- sessions: the crowded user signed in {meta['crowds']['crowded']['logins']} times and has "
           f"{meta['crowds']['crowded']['live']} live sessions ({meta['crowds']['crowded']['rows']} rows before a "
           f"purge); the other has {meta['crowds']['few']['live']}"]
          if {"crowded", "few"} <= set(meta.get("crowds", {})) else []),
        *([f"- purge: each round of the purge scenario starts with {config['purge_sessions']} more dead sessions "
           f"(5 refresh tokens each) in ours; `manage.py purge_sessions {config['purge_args']}` runs during the "
           f"rounds of ours, during a purge, which last as long as it; {config['purge_rounds'] or config['rounds']} "
           "rounds"] if "purge" in summary else []),
        *([f"- login with TOTP: {meta['totp']['users']} accounts with an authenticator app, a login is the "
           "password step and the code (two requests: its rps counts logins, its latencies requests)"]
          if meta.get("totp") else []),
        *([f"- command: `{meta['command']}`"] if meta.get("command") else []),
        "",
        "| scenario | contestant | requests | errors | rps | p50 ms | p90 ms | p99 ms | rps by round "
        "| other CPU by round |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for scenario, by_contestant in summary.items():
        for name, row in by_contestant.items():
            lines.append(f"| {scenario} | {LABELS[name]} | {row['requests']} | {row['errors']} | {row['rps']:.1f} | "
                         f"{row['p50_ms']} | {row['p90_ms']} | {row['p99_ms']} | "
                         f"{' / '.join(f'{rps:.0f}' for rps in row['rps_by_round'])} | "
                         f"{' / '.join(f'{share:.0f}%' for share in row['other_cpu_percent_by_round'])} |")
        for pair, ratio in comparisons[scenario].items():
            first, second = pair.split("/")
            rounds = " / ".join("-" if value is None else f"{value:.2f}" for value in ratio["rps_by_round"])
            median = "-" if ratio["rps_median"] is None else f"{ratio['rps_median']:.2f}x"
            lines.append(f"| {scenario} | **{LABELS[first]} / {LABELS[second]}** | | | **{_fmt_ratio(ratio['rps'])}** "
                         f"(median {median}) | {_fmt_ratio(ratio['p50_ms'])} | {_fmt_ratio(ratio['p90_ms'])} | "
                         f"{_fmt_ratio(ratio['p99_ms'])} | {rounds} | |")
    lines += ["", "Machine time per request, µs (median of rounds; from /proc, as other CPU): the contestant's "
              "server (its workers), PostgreSQL (every backend of the run's databases) and the load generator.", "",
              "| scenario | contestant | server | PostgreSQL | load generator | all |", "|---|---|---:|---:|---:|---:|"]
    for scenario, by_contestant in summary.items():
        for name, row in by_contestant.items():
            parts = row.get("cpu_us_per_request", {})
            known = [parts.get(part) for part in ("server", "postgres", "load")]
            total = sum(known) if None not in known else None
            lines.append(f"| {scenario} | {LABELS[name]} | " + " | ".join(
                "-" if value is None else str(value) for value in (*known, total)) + " |")
    beyond = [(name, row) for name, row in summary.get("login", {}).items() if "beyond_hash_share" in row]
    if beyond:
        lines += ["", "Login beyond the password check (median of rounds): the server's and PostgreSQL's time per "
                  "login less the check alone, Django's check_password on the seeded hash in as many processes at once "
                  "as the server has workers, timed after each login round (the median of those timings): " + "; ".join(
                      f"{LABELS[name]} {row['beyond_hash_us']} µs, {row['beyond_hash_share']:.1%} of a "
                      f"{row['hash_us']} µs check" for name, row in beyond) + "."]
    purges = [purge for by_contestant in summary.values() for row in by_contestant.values()
              for purge in row.get("purges", [])]
    if purges:
        lines += ["", "Purges, one per round of ours, during a purge: " + "; ".join(
            f"{purge['seconds']:g} s, {purge['output'] or '?'}{'' if purge['finished'] else ' (stopped unfinished)'}"
            for purge in purges)]
    lines += ["", "rps ratio above 1 and latency ratios below 1 favour the first named. The rps ratio is over all "
              "rounds, the median is of the per-round ratios (rps by round, in the ratio rows). A row with errors "
              "is not a valid comparison (see bench/results/*-logs/). Other CPU: the share of the machine's CPU "
              "used by processes outside the benchmark during the round; rounds where it is high are unreliable."]
    if targets:
        lines += ["", "| target | measured | result |", "|---|---|---|"]
        lines += [f"| {target['target']} | {target['measured']} | **{target['result']}** |" for target in targets]
    noisy = [f"{scenario} {name} round {index + 1}" for scenario, by_contestant in summary.items()
             for name, row in by_contestant.items()
             for index, share in enumerate(row["other_cpu_percent_by_round"])
             if share > NOISY_OTHER_CPU_PERCENT]
    if noisy:
        lines += ["", f"**Warning**: other processes used more than {NOISY_OTHER_CPU_PERCENT}% of the CPU during "
                  f"{len(noisy)} of the rounds ({', '.join(noisy)}); run again on a quiet machine before "
                  "drawing conclusions."]
    return "\n".join(lines) + "\n"


def _fmt_ratio(value) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _first_line(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return (result.stdout or result.stderr).strip().splitlines()[0] if (result.stdout or result.stderr) else "?"


def machine_info() -> dict:
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    with contextlib.suppress(ValueError, OSError):
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model, "memory_gib": memory_gib,
            "platform": platform.platform(), "python": platform.python_version(),
            # Other work on the machine skews both projects, though not always equally: worth a look.
            "load_average_at_start": [round(load, 2) for load in os.getloadavg()]}


# --- the run ------------------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark this project against the simplejwt peer (bench/peer).",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                        help="comma-separated, from " + ", ".join(SCENARIOS))
    parser.add_argument("--duration", type=int, default=5, help="seconds per round per project (time bound)")
    parser.add_argument("--max-requests", type=int, default=20000, help="requests per round per project (count bound)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds per scenario, alternating which project goes first")
    parser.add_argument("--vus", type=int, default=8, help="virtual users = wrk connections = wrk threads")
    parser.add_argument("--users", type=int, default=1000, help="seeded users (same in both projects)")
    parser.add_argument("--logout-tokens", type=int, default=2500,
                        help="sessions minted per logout round (each logout spends one)")
    parser.add_argument("--mix", default="40,9,1", help="mixed scenario weights: GET me, refresh, login")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of untimed mixed load per project first")
    parser.add_argument("--pause", type=float, default=1, help="seconds of rest between two timed runs")
    parser.add_argument("--timeout", type=int, default=10, help="wrk's per-request timeout, seconds")
    parser.add_argument("--contestants", default=None,
                        help="comma-separated, from " + ", ".join(CONTESTANTS) + " (default: all; with --baseline: "
                        "ours,peer); a scenario runs those of its contestants that are named")
    parser.add_argument("--fail-on-miss", action="store_true",
                        help="exit with status 3 when a target that ran is not met")
    parser.add_argument("--signing", choices=("ES256", "EdDSA", "HS256"), default="ES256",
                        help="how the service signs access tokens (the peer always uses HS256)")
    parser.add_argument("--server", choices=("gunicorn", "uvicorn", "granian"), default="gunicorn")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (sync, gthread, ...)")
    parser.add_argument("--threads", type=int, default=0, help="gunicorn --threads / granian --blocking-threads")
    parser.add_argument("--server-args", default="", help="extra arguments for the server command (both projects)")
    parser.add_argument("--conn-max-age", type=int, default=None,
                        help="DATABASE_CONN_MAX_AGE for both projects (default: 60, the project's own default; "
                        "0 under ASGI, where Django's persistent connections pile up one per thread)")
    parser.add_argument("--asgi-pool", type=int, default=None,
                        help="DATABASE_POOL_MAX_SIZE of the ASGI contestant (default: --vus, a connection for each "
                        "request in flight; 0: no pool, a connection opened and closed by each request)")
    parser.add_argument("--peer-health-checks", action="store_true",
                        help="turn on Django's connection health checks in the peer too (the project has them on)")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL URL with the right to create databases")
    parser.add_argument("--results-dir", type=Path, default=BENCH / "results")
    parser.add_argument("--growth", type=int, default=0,
                        help="run ours once more on grown tables (the ours-grown contestant) holding this many "
                             "sessions, e.g. 1000000")
    parser.add_argument("--growth-live-share", type=float, default=0.2,
                        help="the share of the grown tables' sessions that are live (the rest ended)")
    parser.add_argument("--growth-tokens", type=int, default=5, help="refresh tokens per grown session")
    parser.add_argument("--growth-users", type=int, default=20000,
                        help="users the grown tables' sessions belong to (at least --users)")
    parser.add_argument("--purge-sessions", type=int, default=500_000,
                        help="dead sessions (5 tokens each) seeded before each round of the purge scenario")
    parser.add_argument("--purge-args", default="", help='options for manage.py purge_sessions, e.g. "--pause 0.01"')
    parser.add_argument("--purge-timeout", type=int, default=1800, help="seconds a purge round may last at most")
    parser.add_argument("--purge-rounds", type=int, default=0, help="rounds of the purge scenario (default: --rounds)")
    parser.add_argument("--crowd-logins", type=int, default=10_000,
                        help="logins of the crowded user of the sessions scenario")
    parser.add_argument("--totp-users", type=int, default=1500,
                        help="accounts with an authenticator app per round of login with TOTP (a code is "
                             "accepted once per account and 30 s step, so each login needs its own account)")
    parser.add_argument("--keep-databases", action="store_true", help="do not drop the two databases at the end")
    parser.add_argument("--baseline", metavar="REF",
                        help="compare with this project at an earlier commit (a git ref) instead of the peer: "
                             "what a change costs, both sides in one run")
    args = parser.parse_args(argv)
    _check_args(parser, args)
    return args


def _check_args(parser: argparse.ArgumentParser, args) -> None:
    """Normalise the options that are lists, and refuse combinations that cannot run."""
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    # The purge deletes every dead session of ours, also those other scenarios leave: it runs last.
    args.scenarios.sort(key=lambda name: name == "purge")
    if len([weight for weight in args.mix.split(",") if weight.strip().isdigit()]) != 3:
        parser.error("--mix takes three integers: me,refresh,login")
    args.contestants = [name.strip() for name in
                        (args.contestants or ("ours,peer" if args.baseline else ",".join(CONTESTANTS))).split(",")
                        if name.strip()]
    if set(args.contestants) - set(CONTESTANTS) or "ours" not in args.contestants:
        parser.error(f"--contestants: names from {', '.join(CONTESTANTS)}, ours among them")
    if not args.growth:  # no grown tables to measure
        args.contestants = [name for name in args.contestants if name != "ours-grown"]
    if args.growth and args.growth_users < args.users:
        parser.error("--growth-users must be at least --users")
    if args.baseline and {"lean", "floor", "ours-asgi", "ours-grown"} & set(args.contestants):
        parser.error("--baseline puts this project in the peer's place: the lean peer, the floor and ASGI do not run")
    # A proof's iat is the time it was signed, before the round; the service accepts it for 60 s.
    if "ours-dpop" in args.contestants and "me" in args.scenarios and args.duration + args.pause > 45:
        parser.error("with the DPoP contestant, --duration plus --pause must stay within 45 s (proofs expire)")
    if args.conn_max_age is None:
        args.conn_max_age = 0 if serves_asgi(args) else 60
    if args.asgi_pool is None:
        args.asgi_pool = args.vus


def describe_run(args, started: datetime, databases: Databases) -> dict:
    """What the results are of: the code, the machine, the tools and the options."""
    return {"started_at": started.isoformat(timespec="seconds"), "commit": _git("rev-parse", "--short=12", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
            "machine": machine_info(), "postgresql": databases.server_version(),
            "wrk": _first_line(["wrk", "--version"]), "redis": _first_line(["redis-server", "--version"]),
            "config": {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()}}


def set_up_databases(args, databases: Databases, suffix: str, ports: dict, work: Path, logs: Path,
                     services: list[Service]) -> dict[str, dict]:
    """Each project's database, migrated, and the private Redis (added to `services`); each project's
    environment."""
    log(f"databases bench_ours_{suffix}, bench_peer_{suffix} (also the lean peer's); redis on {ports['redis']}")
    db_names = {"ours": f"bench_ours_{suffix}", "ours-asgi": f"bench_ours_{suffix}",
                "ours-grown": f"bench_grown_{suffix}", "peer": f"bench_peer_{suffix}", "lean": f"bench_peer_{suffix}"}
    migrated = ["ours", "peer", *(["ours-grown"] if "ours-grown" in servers_needed(args) else [])]
    for name in sorted({db_names[project] for project in migrated}):
        databases.create(name)
    redis = Service("redis", ["redis-server", "--port", str(ports["redis"]), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", str(work), "--loglevel", "warning"],
                    env=dict(os.environ), cwd=work, log_path=logs / "redis.log")
    services.append(redis)
    wait_for_redis(ports["redis"], redis)
    envs = {project: project_env(project, port=ports[project], database_url=databases.url_for(db_names[project]),
                                 redis_url=f"redis://127.0.0.1:{ports['redis']}/0", args=args)
            for project in PROJECTS}
    # The lean peer verifies the tokens the peer's code minted into their shared database; this project under
    # ASGI, those minted into ours.
    envs["lean"].update({key: envs["peer"][key] for key in ("SECRET_KEY", "JWT_SIGNING_KEY")})
    # (SITE_URL too: it is the access tokens' issuer.)
    envs["ours-asgi"].update({key: envs["ours"][key] for key in ("SECRET_KEY", "JWT_SIGNING_KEY", "SITE_URL",
                                                                  "MFA_ENCRYPTION_KEYS", "REDIS_URL")})
    # Its pool opened in full at the start, as the other servers' persistent connections are by the warm-up.
    envs["ours-asgi"].update(DATABASE_CONN_MAX_AGE="0", DATABASE_POOL_MAX_SIZE=str(args.asgi_pool),
                             DATABASE_POOL_MIN_SIZE=str(args.asgi_pool))

    log(f"migrating the databases of {', '.join(migrated)}")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda project: run_checked(
            [sys.executable, str(APPS[project]["manage"]), "migrate", "--noinput"], env=envs[project],
            cwd=APPS[project]["root"], what=f"{project} migrate"), migrated))
    return envs


def seed(args, envs: dict[str, dict], meta: dict) -> str:
    log(f"seeding {args.users} users (one password hash, made by the project's hasher, in both)")
    seeded = json.loads(run_checked([*PROJECT_TASKS, "ours", "seed", "--users", str(args.users),
                                     "--password", PASSWORD], env=envs["ours"], cwd=ROOT, what="ours seed"))
    run_checked([*PROJECT_TASKS, task_name("peer"), "seed", "--users", str(args.users), "--hash", seeded["hash"]],
                env=envs["peer"], cwd=ROOT, what="peer seed")
    meta["password_hash_parameters"] = seeded["hash"].split("$")[3] if seeded["hash"].count("$") >= 4 else "?"
    if "ours-grown" in servers_needed(args):
        # The growth test: the grown tables as a long-running service's, its users' live sessions among
        # many ended ones and spent tokens, so the hot queries are measured with their indexes under real size.
        log(f"growing ours-grown's tables: {args.growth} sessions over {args.growth_users} users, "
            f"{args.growth_live_share:.0%} live, {args.growth_tokens} tokens each (COPY)")
        run_checked([*PROJECT_TASKS, "ours", "seed", "--users", str(args.growth_users), "--hash", seeded["hash"]],
                    env=envs["ours-grown"], cwd=ROOT, what="ours-grown seed")
        meta["growth"] = json.loads(run_checked(
            [*PROJECT_TASKS, "ours", "history", "--sessions", str(args.growth), "--tokens-per-session",
             str(args.growth_tokens), "--users", str(args.growth_users), "--live-share", str(args.growth_live_share)],
            env=envs["ours-grown"], cwd=ROOT, what="ours-grown history"))
    if "login" in args.scenarios and "ours-totp" in contestants_of(args, "login"):
        log(f"seeding {args.totp_users * args.rounds} accounts with an authenticator app")
        meta["totp"] = json.loads(run_checked(
            [*PROJECT_TASKS, "ours", "totp", "--users", str(args.totp_users * args.rounds), "--hash", seeded["hash"]],
            env=envs["ours"], cwd=ROOT, what="ours totp"))
    return seeded["hash"]


def contestants_of(args, scenario: str) -> tuple[str, ...]:
    return tuple(name for name in SCENARIO_CONTESTANTS[scenario] if name in args.contestants)


def rounds_of(args, scenario: str) -> int:
    """The purge's rounds may be fewer: each lasts as long as a purge of --purge-sessions (minutes)."""
    return args.purge_rounds if scenario == "purge" and args.purge_rounds else args.rounds


def servers_needed(args) -> list[str]:
    needed = {CONTESTANTS[name]["server"] for scenario in args.scenarios for name in contestants_of(args, scenario)}
    return [project for project in PROJECTS if project in needed]


def session_plan(args) -> list[tuple[str, str, int, int]]:
    """Sessions for the runs that start signed in, as (contestant, scenario, round, count): one per VU per
    round, plus the logout pools, plus each server's warm-up."""
    plan = [(server, "warmup", 0, args.vus) for server in servers_needed(args)]
    for scenario in args.scenarios:
        for name in contestants_of(args, scenario):
            if CONTESTANTS[name].get("anonymous") or "crowd" in CONTESTANTS[name]:
                continue  # no sessions, or its own (prepare_crowds)
            for round_index in range(rounds_of(args, scenario)):
                if scenario in SESSION_SCENARIOS:
                    plan.append((name, scenario, round_index, args.vus))
                elif scenario == "logout":
                    plan.append((name, scenario, round_index, args.logout_tokens))
    return plan


def mint_sessions(args, envs: dict[str, dict], work: Path, dpop: "DPoPSigner") -> dict[tuple[str, str, int], Path]:
    """The refresh tokens of each (contestant, scenario, round), one file each, minted by the code of the
    project the contestant's server runs (the lean peer's in the peer's database), bound to the DPoP key for
    the DPoP contestant."""
    groups: dict[tuple[str, bool], list] = {}
    for entry in session_plan(args):
        # The database and keys the sessions belong to: the server's own, or the one it shares.
        contestant = CONTESTANTS[entry[0]]
        home = {"ours-asgi": "ours", "lean": "peer"}.get(contestant["server"], contestant["server"])
        groups.setdefault((home, bool(contestant.get("dpop"))), []).append(entry)
    total = sum(entry[3] for entries in groups.values() for entry in entries)
    log(f"minting {total} sessions (each project's own session code, untimed)")
    # Minting spreads the sessions over the users; past the service's cap on live sessions per user (100 by
    # default, SESSIONS_APP["MAX_SESSIONS_PER_USER"]) the first minted would end before their rounds.
    if total / args.users > 80:
        raise BenchError(f"{total} sessions over {args.users} users would pass the cap on sessions per user: "
                         "raise --users or lower --logout-tokens")

    def mint(group):
        (home, bound), entries = group
        out = work / f"{home}{'-dpop' if bound else ''}-tokens.txt"
        command = [*PROJECT_TASKS, task_name(home), "mint", "--users", str(args.users),
                   "--count", str(sum(entry[3] for entry in entries)), "--out", str(out)]
        if bound:
            command += ["--dpop-jkt", dpop.jkt]
        run_checked(command, env=envs[home], cwd=ROOT, what=f"{home} mint")
        return entries, out

    token_files = {}
    with ThreadPoolExecutor(2) as pool:
        for entries, pool_file in pool.map(mint, groups.items()):
            lines = pool_file.read_text().splitlines(keepends=True)
            offset = 0
            for name, scenario, round_index, count in entries:
                path = work / f"{name}-{scenario}-{round_index}.txt"
                path.write_text("".join(lines[offset:offset + count]))
                token_files[name, scenario, round_index] = path
                offset += count
    return token_files


def prepare_crowds(args, envs: dict[str, dict], work: Path, password_hash: str, token_files: dict,
                   meta: dict) -> None:
    """The users of the sessions scenario, each signed in by the session code of a login (untimed): one with
    3 sessions, one with --crowd-logins. Each VU presents one of the user's newest sessions. Fails if the cap
    did not bound the crowded user's live sessions."""
    if "sessions" not in args.scenarios:
        return
    logins = {"few": 3, "crowded": args.crowd_logins}
    crowds = {}
    for name in contestants_of(args, "sessions"):
        crowd = CONTESTANTS[name]["crowd"]
        out = work / f"crowd-{crowd}.txt"
        log(f"signing in {crowd}@bench.example {logins[crowd]} times (untimed)")
        crowds[crowd] = json.loads(run_checked(
            [*PROJECT_TASKS, "ours", "crowd", "--email", f"{crowd}@bench.example", "--hash", password_hash,
             "--logins", str(logins[crowd]), "--out", str(out), "--lines", str(args.vus)],
            env=envs["ours"], cwd=ROOT, what=f"crowd {crowd}"))
        for round_index in range(args.rounds):
            token_files[name, "sessions", round_index] = out
    if "crowded" in crowds and crowds["crowded"]["live"] > 100:
        raise BenchError(f"the crowded user has {crowds['crowded']['live']} live sessions: the cap did not hold")
    meta["crowds"] = crowds


class DPoPSigner:
    """The DPoP contestant's key (ES256) and its proofs (RFC 9449), signed before each round so that the
    load generator only sends them: wrk's Lua cannot sign. Each proof has its own jti and the ath of its
    VU's access token; iat is the time of signing, well inside the server's window for a round's length."""

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import ec

        self._ec = ec
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC", "x": _b64(numbers.x.to_bytes(32, "big")),
                    "y": _b64(numbers.y.to_bytes(32, "big"))}
        # RFC 7638: the required members, sorted, no white space.
        self.jkt = _b64(_sha256(json.dumps(self.jwk, sort_keys=True, separators=(",", ":")).encode()))
        self._header = _b64(json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk},
                                       separators=(",", ":")).encode())

    def proof(self, method: str, url: str, access_token: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(time.time()),
                  "ath": _b64(_sha256(access_token.encode()))}
        signing_input = f"{self._header}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), self._ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def write_round(self, url: str, tokens: Path, per_vu: int, prefix: Path) -> Path:
        """One file of proofs per VU, <prefix><vu>, for the access token on the VU's line of `tokens`."""
        for vu, line in enumerate(tokens.read_text().splitlines()):
            access = line.split(" ", 1)[0]
            (prefix.parent / f"{prefix.name}{vu}").write_text(
                "".join(self.proof("GET", url, access) + "\n" for _ in range(per_vu)))
        return prefix


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _sha256(data: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(data).digest()


def start_projects(args, ports: dict, urls: dict, envs: dict[str, dict], logs: Path, services: list[Service],
                   meta: dict) -> dict[str, Service]:
    """The servers the run needs (added to `services`), answering and smoke-tested."""
    meta["server_command"] = display_command(server_command("ours", "PORT", args))
    if "ours-asgi" in servers_needed(args):
        meta["asgi_command"] = display_command(server_command("ours-asgi", "PORT", args))
    for project in servers_needed(args):
        command = server_command(project, ports[project], args)
        log(f"starting {project}: {shlex.join(command)}")
        services.append(Service(project, command, env=envs[project], cwd=APPS[project]["root"],
                                log_path=logs / f"{project}.log"))
    servers = {service.name: service for service in services if service.name in PROJECTS}
    for project in servers:
        wait_until_answering(project, urls[project], servers[project])
        smoke_test(project, urls[project])
    if "lean" in servers:
        status, body = http("GET", f"{urls['lean']}/api/floor/")
        if status != 200:
            raise BenchError(f"the floor answered {status}: {body}")
    return servers


def smoke_test_dpop(url: str, tokens: Path, dpop: DPoPSigner) -> None:
    """One GET me with a bound token and a proof, and one without the proof, which must be refused."""
    access = tokens.read_text().split(" ", 1)[0]
    me = f"{url}/api/auth/me/"
    refused = http("GET", me, headers={"Authorization": f"DPoP {access}"})[0]
    status, body = http("GET", me, headers={"Authorization": f"DPoP {access}", "DPoP": dpop.proof("GET", me, access)})
    if status != 200 or refused != 401:
        raise BenchError(f"DPoP smoke test failed: with a proof {status} {body}, without {refused} (expected 200, 401)")


def warm_up(args, urls: dict, token_files: dict, wrk_log: Path) -> None:
    if args.warmup <= 0:
        return
    for server in servers_needed(args):
        log(f"warm-up {server} ({args.warmup:g} s, mixed, untimed)")
        run_wrk(urls[server], "mixed", token_files[server, "warmup", 0], duration=args.warmup,
                max_per_vu=10**9, args=args, log_path=wrk_log)


def measure(args, urls: dict, token_files: dict, servers: dict[str, Service], cpu: CpuMeter,
            wrk_log: Path, prepared: "Prepared", databases: Databases) -> list[dict]:
    """Every round of every scenario, the contestants taking turns at going first."""
    max_per_vu = max(1, math.ceil(args.max_requests / args.vus))
    rounds: list[dict] = []
    turn = 0
    for scenario in args.scenarios:
        names = contestants_of(args, scenario)
        for round_index in range(rounds_of(args, scenario)):
            shift = turn % len(names)
            turn += 1
            for name in names[shift:] + names[:shift]:
                contestant = CONTESTANTS[name]
                base_url = urls[contestant["server"]]
                extra = [f"path={contestant['path']}"] if "path" in contestant else []
                tokens = token_files.get((name, scenario, round_index))
                duration, bound, purge = args.duration, max_per_vu, None
                if contestant.get("dpop"):
                    # Enough for the count bound and the moments after it until wrk stops (run_wrk); a VU
                    # that ran out would send no proof and count 401s as errors.
                    prefix = prepared.dpop.write_round(f"{base_url}/api/auth/me/", tokens, max_per_vu + 1000,
                                                       prepared.work / f"proofs-{round_index}-")
                    extra.append(f"proofs={prefix}")
                if contestant.get("lua") == "login_totp":
                    extra += prepared.totp_round(round_index, args)
                if scenario == "purge":
                    prepared.ensure_dead_sessions(args)  # before both contestants' rounds: the same tables
                databases.checkpoint()
                time.sleep(args.pause)
                cpu_at_start = cpu.start(processes_end=bool(contestant.get("purge")))
                if contestant.get("purge"):
                    purge, duration, bound = prepared.start_purge(args), args.purge_timeout, 10**9
                result = run_wrk(base_url, contestant.get("lua", LUA_SCENARIO.get(scenario, scenario)), tokens,
                                 duration=duration, max_per_vu=bound, args=args, log_path=wrk_log, extra=extra,
                                 until=purge)
                if purge is not None:  # first: the purge, waited for, counts as the benchmark's own CPU
                    result["purge"] = prepared.finish_purge(purge)
                result["other_cpu_percent"], cpu_by_owner = cpu.finish(cpu_at_start)
                if contestant.get("requests_per_op", 1) > 1:  # count operations (a TOTP login: 2 requests)
                    result["requests"] //= contestant["requests_per_op"]
                    result["rps"] /= contestant["requests_per_op"]
                # Machine time per operation (per request but for a TOTP login), microseconds: the contestant's
                # server, PostgreSQL, the load generator.
                result["cpu_us_per_request"] = {
                    part: round(cpu_by_owner.get(owner, 0.0) * 1e6 / result["requests"]) if result["requests"] else None
                    for part, owner in (("server", contestant["server"]), ("postgres", "postgres"), ("load", "load"))}
                _check_alive(servers, scenario)
                rounds.append({"scenario": scenario, "round": round_index, "contestant": name,
                               "load_average_after": round(os.getloadavg()[0], 2), **result})
                log(f"{scenario:8} round {round_index + 1}/{rounds_of(args, scenario)} {name}: "
                    f"{result['requests']} requests, "
                    f"{result['errors']} errors, {result['rps']:.1f} rps, p50 {result['p50_us'] / 1000:.2f} ms, "
                    f"p99 {result['p99_us'] / 1000:.2f} ms; other processes: {result['other_cpu_percent']}% CPU"
                    + (f"; purge: {result['purge']}" if purge is not None else ""))
            _after_the_round(scenario, rounds, len(names), round_index, prepared, args)
    return rounds


def _after_the_round(scenario: str, rounds: list[dict], contestants: int, round_index: int, prepared: "Prepared",
                     args) -> None:
    """After a login round, the password check alone, timed in the machine's state of that moment; the round's
    runs (its `contestants` last ones) carry it."""
    if scenario != "login" or not contestants:
        return
    hash_us = prepared.hash_cost(args)
    for run in rounds[-contestants:]:
        run["hash_us"] = hash_us
    log(f"login    round {round_index + 1}: the password check alone, {hash_us} µs of CPU")


class Prepared:
    """What rounds need beyond their sessions, made outside the timing: DPoP proofs, TOTP codes, the purge's
    dead sessions and the purge itself; and, between login rounds, the password check timed alone."""

    def __init__(self, work: Path, envs: dict[str, dict], dpop: "DPoPSigner", totp_secret: str | None,
                 password_hash: str):
        self.work, self.envs, self.dpop, self.totp_secret = work, envs, dpop, totp_secret
        self.password_hash = password_hash
        self.dead_seeded = False

    def hash_cost(self, args) -> int:
        """What the password check of a login costs alone, in CPU µs: the seeded hash (both projects verify the same
        bytes) checked by Django's check_password in as many processes at once as the server has workers (begun
        together), after the login round, the servers idle (bench/project_tasks.py hash-cost)."""
        measured = json.loads(run_checked(
            [*PROJECT_TASKS, "ours", "hash-cost", "--hash", self.password_hash, "--password", PASSWORD,
             "--verifies", "20", "--processes", str(args.workers)], env=self.envs["ours"], cwd=ROOT,
            what="ours hash-cost"))
        if measured["processes"] != args.workers:
            raise BenchError(f"the password check was timed in {measured['processes']} processes, not {args.workers}")
        return measured["us"]

    def totp_round(self, round_index: int, args) -> list[str]:
        """The Lua arguments of a round of login with TOTP: its own accounts (a code is accepted once per
        account and step) and the codes of every 30 s step the round may reach, "step code" per line."""
        import pyotp  # the project's dependency, in the virtualenv

        totp = pyotp.TOTP(self.totp_secret)
        first_step = int(time.time()) // 30 - 1
        path = self.work / f"totp-codes-{round_index}.txt"
        steps = range(first_step, first_step + math.ceil((args.duration + args.pause + 60) / 30) + 2)
        path.write_text("".join(f"{step} {totp.at(step * 30)}\n" for step in steps))
        return [f"codes={path}", f"totpfirst={round_index * args.totp_users}", f"totpusers={args.totp_users}"]

    def ensure_dead_sessions(self, args) -> None:
        if self.dead_seeded:
            return
        log(f"seeding {args.purge_sessions} dead sessions into ours for the purge (COPY, untimed)")
        run_checked([*PROJECT_TASKS, "ours", "history", "--sessions", str(args.purge_sessions),
                     "--users", str(args.users)], env=self.envs["ours"], cwd=ROOT, what="ours history")
        self.dead_seeded = True

    def start_purge(self, args) -> subprocess.Popen:
        self.dead_seeded = False
        self._purge_started = time.monotonic()
        return subprocess.Popen([sys.executable, str(APPS["ours"]["manage"]), "purge_sessions",
                                 *shlex.split(args.purge_args)], env=self.envs["ours"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish_purge(self, purge: subprocess.Popen) -> dict:
        """The purge's outcome; one still running when its round ended (--purge-timeout) is stopped."""
        finished = purge.poll() is not None
        if not finished:
            purge.kill()
        output = purge.communicate()[0].strip()
        if finished and purge.returncode != 0:
            raise BenchError(f"purge_sessions failed ({purge.returncode}): {output[-2000:]}")
        return {"seconds": round(time.monotonic() - self._purge_started, 1), "finished": finished,
                "output": output.splitlines()[-1] if output else ""}


def _check_alive(servers: dict[str, Service], scenario: str) -> None:
    for name, service in servers.items():
        if not service.alive():
            raise BenchError(f"{name} server died during {scenario}:\n{service.log_tail()}")


def write_results(args, stamp: str, meta: dict, rounds: list[dict], logs: Path) -> list[dict]:
    summary, comparisons = {}, {}
    for scenario in args.scenarios:
        names = contestants_of(args, scenario)
        runs = {name: [run for run in rounds if run["scenario"] == scenario and run["contestant"] == name]
                for name in names}
        summary[scenario] = {name: summarise(runs[name]) for name in names}
        comparisons[scenario] = {
            f"{first}/{second}": compare(runs[first], runs[second], summary[scenario][first],
                                         summary[scenario][second])
            for first, second in comparison_pairs(names)}
    targets = evaluate_targets(summary, comparisons)
    table = markdown_table(summary, comparisons, targets, meta)
    json_path = args.results_dir / f"{stamp}.json"
    json_path.write_text(json.dumps({"meta": meta, "summary": summary, "comparisons": comparisons,
                                     "targets": targets, "rounds": rounds}, indent=2) + "\n")
    (args.results_dir / f"{stamp}.md").write_text(table)
    print()
    print(table)
    log(f"results: {json_path} and {json_path.with_suffix('.md')}; server logs: {logs}")
    return targets


def clean_up(args, services: list[Service], databases: Databases, work: Path) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
    for service in reversed(services):
        try:
            service.stop()
        except Exception as error:  # noqa: BLE001 - keep stopping the others
            log(f"could not stop {service.name} (pid {service.pid}): {error}")
    if args.keep_databases:
        log(f"kept databases: {', '.join(databases.created)}")
    else:
        try:
            databases.drop_all()
        except Exception as error:  # noqa: BLE001
            log(f"could not drop the databases {databases.created}: {error}")
    if APPS["peer"]["root"] != PEER_ROOT:
        subprocess.run(["git", "worktree", "remove", "--force", str(APPS["peer"]["root"])], cwd=ROOT,
                       capture_output=True)
    shutil.rmtree(work, ignore_errors=True)


def use_baseline(ref: str, work: Path) -> None:
    """Put this project at `ref` (a git worktree of it) in the peer's place: the same settings, seeding and
    minting as ours, its own database and Redis database, the same virtualenv."""
    root = work / "baseline"
    log(f"baseline: this project at {ref}, checked out in {root}")
    subprocess.run(["git", "worktree", "add", "--detach", str(root), ref], cwd=ROOT, check=True,
                   capture_output=True)
    if (root / "hatch_build.py").exists():  # the compiled catalogs, as `make` builds them in a checkout
        run_checked([sys.executable, str(root / "hatch_build.py")], env=dict(os.environ), cwd=root,
                    what="baseline catalogs")
    APPS["peer"] = {**APPS["ours"], "root": root, "manage": root / "manage.py"}
    os.environ["BENCH_BASELINE_ROOT"] = str(root)  # for bench/project_tasks.py
    LABELS["peer"] = f"before ({ref})"


def task_name(project: str) -> str:
    """The project as bench/project_tasks.py knows it: the peer, or this project at the baseline."""
    if project == "ours-grown":
        return "ours"
    return "baseline" if project == "peer" and APPS["peer"]["root"] != PEER_ROOT else project


def main(argv=None) -> int:
    args = parse_args(argv)
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is not installed (make bench installs it: apt-get install {tool})")
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    logs = args.results_dir / f"{stamp}-logs"
    logs.mkdir()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    suffix = f"{os.getpid()}_{secrets.token_hex(3)}"
    databases = Databases(args.pg)
    services: list[Service] = []

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    # SIGINT too: a process started in the background inherits it ignored, and must still clean up.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)
    try:
        if args.baseline:
            use_baseline(args.baseline, work)
        meta = describe_run(args, started, databases)
        meta["peer"] = LABELS["peer"]
        meta["contestants"] = {name: LABELS[name] for name in args.contestants}
        meta["command"] = "python bench/run.py " + shlex.join(sys.argv[1:] if argv is None else argv)
        ports = {**{project: free_port() for project in PROJECTS}, "redis": free_port()}
        urls = {project: f"http://127.0.0.1:{ports[project]}" for project in PROJECTS}
        envs = set_up_databases(args, databases, suffix, ports, work, logs, services)
        password_hash = seed(args, envs, meta)
        dpop = DPoPSigner()
        token_files = mint_sessions(args, envs, work, dpop)
        prepare_crowds(args, envs, work, password_hash, token_files, meta)
        servers = start_projects(args, ports, urls, envs, logs, services, meta)
        for server in servers:  # the minted sessions work on the server that will present them
            access = token_files[server, "warmup", 0].read_text().split(" ", 1)[0]
            if http("GET", f"{urls[server]}/api/auth/me/", token=access)[0] != 200:
                raise BenchError(f"{server} refuses the access tokens minted for it (issuer, keys?)")
        if "ours-dpop" in args.contestants and "me" in args.scenarios:
            smoke_test_dpop(urls["ours"], token_files["ours-dpop", "me", 0], dpop)
        wrk_log = logs / "wrk.log"
        warm_up(args, urls, token_files, wrk_log)
        cpu = CpuMeter(databases, {service.pid: service.name for service in services})
        prepared = Prepared(work, envs, dpop, meta.get("totp", {}).get("secret"), password_hash)
        rounds = measure(args, urls, token_files, servers, cpu, wrk_log, prepared, databases)
        targets = write_results(args, stamp, meta, rounds, logs)
        missed = [target["target"] for target in targets if target["result"] not in ("PASS", "not run")]
        if missed and args.fail_on_miss:
            log(f"targets missed: {'; '.join(missed)}")
            return 3
        return 0
    finally:
        clean_up(args, services, databases, work)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        log(f"error: {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        log("interrupted; everything started was stopped")
        sys.exit(130)
