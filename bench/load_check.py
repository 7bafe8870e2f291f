"""The load check: correctness under concurrent load, across processes, on PostgreSQL and Redis.

    make load-check                                   # 2 servers, 16 clients, 60 s
    .venv/bin/python bench/load_check.py --duration 10 --clients 8

Starts a fresh PostgreSQL database, a private redis-server and two gunicorn processes of the project (2
workers each) on 127.0.0.1, and stops all of them at the end. Client threads, each one user at a time, mix
logins, refreshes (keeping the newest token), GET me, logouts and, now and then, a replay of a refresh
token they have already spent. Meanwhile, every few seconds (`--terminate-every`), every server
connection to the database is killed with `pg_terminate_backend`, as a failover or an operator would. It
passes when:

- no answer is a 5xx other than a 503 `service_unavailable` for a request whose database connection was
  killed under it, and there are no more of those than connections killed (the service reconnects by
  itself; an idle connection killed costs no request);
- every other answer is the one the client's state calls for (a replay ends the family: 401
  `refresh_token_reused`, and afterwards that session's newest refresh token and its access token are
  refused too; an ended session stays ended);
- PostgreSQL counted no deadlock in the database;
- the tables are consistent afterwards: no refresh token has two children (a family never forked, so it
  never had two live tokens), every live session's newest token is its current one, and every family a
  client saw end by a replay is recorded as ended for that reason.

Writes bench/results/<timestamp>-load.json and .md, and exits 1 when any check fails.
"""
import argparse
from concurrent.futures import ThreadPoolExecutor
import contextlib
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import random
import secrets
import signal
import sys
import tempfile
import threading
import time

from run import (  # bench/ is on sys.path when this runs as a script
    PASSWORD,
    ROOT,
    BenchError,
    Databases,
    Service,
    free_port,
    http,
    project_env,
    run_checked,
    wait_for_redis,
    wait_until_answering,
)

BENCH = Path(__file__).resolve().parent
# Operation weights per client step: GET me, refresh, replay a spent refresh token, log out, log in anew.
WEIGHTS = {"me": 50, "refresh": 30, "replay": 5, "logout": 5, "login": 10}


class Unavailable(Exception):
    """A 503 `service_unavailable`: the step ends and the client starts a new session (whether a refresh
    cut off mid-way was committed is unknown to it, as it would be to a real client)."""


class Client:
    """One simulated user agent: its session's tokens, the refresh tokens it has spent, and what it saw."""

    def __init__(self, index: int, base_url: str, users: int, rng: random.Random, report: "Report"):
        self.email = f"user{index % users}@bench.example"
        self.base_url, self.rng, self.report = base_url, rng, report
        self.access = self.refresh = self.session_id = None
        self.spent: list[str] = []

    def call(self, name: str, method: str, path: str, **kwargs) -> tuple[int, dict]:
        status, body = http(method, f"{self.base_url}{path}", **kwargs)
        self.report.count(name, status, body)
        if status == 503 and body.get("code") == "service_unavailable":
            self.access = self.refresh = self.session_id = None
            raise Unavailable(name)
        return status, body

    def expect(self, name: str, status: int, wanted: int, body: dict, code: str | None = None) -> bool:
        if status == wanted and (code is None or body.get("code") == code):
            return True
        self.report.unexpected(f"{name}: {status} {body.get('code', '')}, expected {wanted} {code or ''}".strip())
        return False

    def log_in(self) -> None:
        status, body = self.call("login", "POST", "/api/auth/login/",
                                 body={"email": self.email, "password": PASSWORD})
        if self.expect("login", status, 200, body):
            self.access, self.refresh, self.session_id = body["access"], body["refresh"], body["session_id"]
            self.spent = []

    def step(self) -> None:
        if self.refresh is None:
            return self.log_in()
        operation = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        if operation == "replay" and not self.spent:
            operation = "refresh"
        if operation == "me":
            status, body = self.call("me", "GET", "/api/auth/me/", token=self.access)
            self.expect("me", status, 200, body)
        elif operation == "refresh":
            status, body = self.call("refresh", "POST", "/api/auth/refresh/", body={"refresh": self.refresh})
            if self.expect("refresh", status, 200, body):
                self.spent.append(self.refresh)
                self.access, self.refresh = body["access"], body["refresh"]
        elif operation == "replay":
            status, body = self.call("replay", "POST", "/api/auth/refresh/",
                                     body={"refresh": self.rng.choice(self.spent)})
            self.expect("replay", status, 401, body, "refresh_token_reused")
            self.report.replayed(self.session_id)
            # The whole family ended: the newest refresh token and the access token with it.
            status, body = self.call("after replay", "POST", "/api/auth/refresh/", body={"refresh": self.refresh})
            self.expect("refresh after replay", status, 401, body, "token_not_valid")
            status, body = self.call("after replay", "GET", "/api/auth/me/", token=self.access)
            self.expect("me after replay", status, 401, body, "token_not_valid")
            self.refresh = None
        elif operation == "logout":
            status, body = self.call("logout", "POST", "/api/auth/logout/", body={"refresh": self.refresh})
            self.expect("logout", status, 204, body)
            status, body = self.call("after logout", "POST", "/api/auth/refresh/", body={"refresh": self.refresh})
            self.expect("refresh after logout", status, 401, body, "token_not_valid")
            self.refresh = None
        else:
            self.log_in()


class Report:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.statuses: dict[str, dict[str, int]] = {}
        self.server_errors = 0  # 5xx other than a 503 service_unavailable
        self.unavailable = 0  # 503 service_unavailable: the request's database connection was killed
        self.terminated = 0  # database connections killed by the terminator
        self.problems: list[str] = []
        self.replayed_sessions: set[str] = set()

    def count(self, name: str, status: int, body: dict | None = None) -> None:
        with self._lock:
            per_name = self.statuses.setdefault(name, {})
            per_name[str(status)] = per_name.get(str(status), 0) + 1
            if status == 503 and (body or {}).get("code") == "service_unavailable":
                self.unavailable += 1
            elif status >= 500:
                self.server_errors += 1

    def unexpected(self, problem: str) -> None:
        with self._lock:
            if len(self.problems) < 50:
                self.problems.append(problem)

    def replayed(self, session_id: str) -> None:
        with self._lock:
            self.replayed_sessions.add(session_id)


def run_clients(bases: list[str], args, report: Report) -> None:
    deadline = time.monotonic() + args.duration

    def client_loop(index: int) -> None:
        client = Client(index, bases[index % len(bases)], args.users, random.Random(args.seed + index), report)
        while time.monotonic() < deadline:
            try:
                client.step()
            except Unavailable:
                pass  # counted; the client logs in anew
            except OSError as error:  # a dropped connection is a failure too, never silently retried
                report.unexpected(f"connection: {error}")
                report.count("connection error", 599)

    with ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(client_loop, range(args.clients)))


CONSISTENCY_QUERIES = {
    # A token with two children means the family forked: two live tokens at once.
    "tokens with two children": """
        SELECT count(*) FROM (SELECT parent_id FROM sessions_app_refreshtoken WHERE parent_id IS NOT NULL
                              GROUP BY parent_id HAVING count(*) > 1) forks""",
    # A live session's family has exactly one unspent token, and it is the session's current one.
    "live sessions whose one unspent token is not the current one": """
        SELECT count(*) FROM sessions_app_session s
         WHERE s.revoked_at IS NULL
           AND (SELECT count(*) FROM sessions_app_refreshtoken t
                 WHERE t.session_id = s.id
                   AND NOT EXISTS (SELECT 1 FROM sessions_app_refreshtoken c WHERE c.parent_id = t.id)
                   AND t.token_hash = s.current_token_hash) <> 1""",
}


def terminate_connections_periodically(databases: Databases, name: str, every: float, report: Report,
                                       stop: threading.Event) -> None:
    """Kill every server connection to the load database every `every` seconds until `stop`."""
    import psycopg

    with psycopg.connect(databases.url_for(name), autocommit=True) as connection:
        while not stop.wait(every):
            killed = connection.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                [name]).fetchone()[0]
            with report._lock:
                report.terminated += killed


def check_database(databases: Databases, name: str, report: Report) -> dict:
    import psycopg

    results = {}
    with psycopg.connect(databases.url_for(name), autocommit=True) as connection:
        for label, sql in CONSISTENCY_QUERIES.items():
            results[label] = connection.execute(sql).fetchone()[0]
        if report.replayed_sessions:
            results["replayed families not ended for reuse"] = connection.execute(
                "SELECT count(*) FROM sessions_app_session WHERE id = ANY(%s::uuid[]) "
                "AND (revoked_at IS NULL OR revoke_reason <> 'refresh_token_reused')",
                [sorted(report.replayed_sessions)]).fetchone()[0]
        results["sessions"] = connection.execute("SELECT count(*) FROM sessions_app_session").fetchone()[0]
        results["refresh tokens"] = connection.execute("SELECT count(*) FROM sessions_app_refreshtoken").fetchone()[0]
    return results


def deadlocks(databases: Databases, name: str) -> int:
    return databases._execute(f"SELECT deadlocks FROM pg_stat_database WHERE datname = '{name}'")[0][0]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    parser.add_argument("--servers", type=int, default=2, help="gunicorn processes (2 workers each)")
    parser.add_argument("--users", type=int, default=50, help="seeded users the clients log in as")
    parser.add_argument("--terminate-every", type=float, default=5,
                        help="seconds between kills of every server database connection (0: never)")
    parser.add_argument("--seed", type=int, default=20261129, help="the clients' random choices")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="PostgreSQL to create the database in")
    parser.add_argument("--results-dir", type=Path, default=BENCH / "results")
    parser.add_argument("--no-results", action="store_true", help="write no results file (the test suite)")
    return parser.parse_args(argv)


def markdown(meta: dict, report: Report, database: dict, passed: bool) -> str:
    lines = [f"- {meta['started_at']}, commit {meta['commit']}; {meta['servers']} gunicorn processes x 2 workers, "
             f"{meta['clients']} clients, {meta['duration']} s, PostgreSQL + Redis",
             f"- database connections killed every {meta['terminate_every']:g} s: {report.terminated} killed, "
             f"{report.unavailable} requests answered 503 `service_unavailable`",
             f"- result: **{'passed' if passed else 'FAILED'}**; other 5xx: {report.server_errors}; deadlocks: "
             f"{meta['deadlocks']}; unexpected answers: {len(report.problems)}", "",
             "| request | answers |", "|---|---|"]
    for name, statuses in sorted(report.statuses.items()):
        lines.append(f"| {name} | " + ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
                     + " |")
    lines += ["", "| database check | value |", "|---|---:|"]
    lines += [f"| {label} | {value} |" for label, value in database.items()]
    if report.problems:
        lines += ["", "Unexpected answers (first ones):", *[f"- {problem}" for problem in report.problems[:20]]]
    return "\n".join(lines) + "\n"


def start_servers(args, databases: Databases, name: str, work: Path, services: list[Service]) -> list[str]:
    """A private Redis, the migrated and seeded database, and args.servers gunicorn processes, each added to
    `services` as it starts (so that main stops what did start); the servers' base URLs."""
    redis_port = free_port()
    redis = Service("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(work)],
                    env=dict(os.environ), cwd=work, log_path=work / "redis.log")
    services.append(redis)
    wait_for_redis(redis_port, redis)
    ports = [free_port() for _ in range(args.servers)]
    settings = argparse.Namespace(conn_max_age=60)
    envs = [project_env("ours", port=port, database_url=databases.url_for(name),
                        redis_url=f"redis://127.0.0.1:{redis_port}/0", args=settings) for port in ports]
    run_checked([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"], env=envs[0], cwd=ROOT,
                what="migrate")
    run_checked([sys.executable, str(BENCH / "project_tasks.py"), "ours", "seed", "--users", str(args.users),
                 "--password", PASSWORD], env=envs[0], cwd=ROOT, what="seed")
    bases = []
    for index, (port, env) in enumerate(zip(ports, envs, strict=True)):
        service = Service(f"server{index}", [sys.executable, "-m", "gunicorn", "config.wsgi:application",
                                             "--bind", f"127.0.0.1:{port}", "--workers", "2",
                                             "--no-control-socket"],
                          env=env, cwd=ROOT, log_path=work / f"server{index}.log")
        services.append(service)
        bases.append(f"http://127.0.0.1:{port}")
        wait_until_answering(f"server{index}", bases[-1], service)
    return bases


def run_load(databases: Databases, name: str, bases: list[str], args, report: Report) -> None:
    """The clients for args.duration, while the database connections are killed every args.terminate_every."""
    print(f"load: {args.clients} clients on {args.servers} servers for {args.duration:g} s", flush=True)
    stop_terminating = threading.Event()
    terminator = threading.Thread(target=terminate_connections_periodically, daemon=True,
                                  args=(databases, name, args.terminate_every, report, stop_terminating))
    if args.terminate_every > 0:
        terminator.start()
    try:
        run_clients(bases, args, report)
    finally:
        stop_terminating.set()
        if terminator.is_alive():
            terminator.join(timeout=30)


def passes(report: Report, database: dict, found_deadlocks: int) -> bool:
    """No 5xx but the 503s of killed connections, no unexpected answer, no deadlock, consistent tables."""
    return (report.server_errors == 0 and not report.problems and found_deadlocks == 0
            and report.unavailable <= report.terminated
            and all(value == 0 for label, value in database.items() if label not in ("sessions", "refresh tokens")))


def write_results(results_dir: Path, stamp: str, table: str, outcome: dict) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{stamp}-load.md").write_text(table)
    (results_dir / f"{stamp}-load.json").write_text(json.dumps(outcome, indent=2))


def main(argv=None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    work = Path(tempfile.mkdtemp(prefix="load-check-"))
    databases = Databases(args.pg)
    services: list[Service] = []
    name = f"load_check_{os.getpid()}_{secrets.token_hex(3)}"

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupted)
    try:
        databases.create(name)
        bases = start_servers(args, databases, name, work, services)
        deadlocks_before = deadlocks(databases, name)
        report = Report()
        run_load(databases, name, bases, args, report)
        database = check_database(databases, name, report)
        found_deadlocks = deadlocks(databases, name) - deadlocks_before
        passed = passes(report, database, found_deadlocks)
        meta = {"started_at": started.isoformat(timespec="seconds"), "servers": args.servers,
                "clients": args.clients, "duration": args.duration, "deadlocks": found_deadlocks,
                "terminate_every": args.terminate_every,
                "commit": run_checked(["git", "rev-parse", "--short=12", "HEAD"], env=dict(os.environ), cwd=ROOT,
                                      what="git").strip()}
        table = markdown(meta, report, database, passed)
        print(table, flush=True)
        if not args.no_results:
            write_results(args.results_dir, stamp, table, {
                "meta": meta, "statuses": report.statuses, "server_errors": report.server_errors,
                "unavailable": report.unavailable, "terminated": report.terminated,
                "problems": report.problems, "database": database, "passed": passed})
        return 0 if passed else 1
    finally:
        for service in reversed(services):
            with contextlib.suppress(Exception):
                service.stop()
        with contextlib.suppress(BenchError):
            databases.drop_all()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"load check: {error}", file=sys.stderr)
        sys.exit(2)
