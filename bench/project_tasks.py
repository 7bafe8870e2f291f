"""Setup work done inside one of the two benchmarked projects (its own settings, models and services), run by
bench/run.py as a subprocess with that project's environment:

    python bench/project_tasks.py ours seed --users 1000 --password ...     # prints {"hash": ...}
    python bench/project_tasks.py peer seed --users 1000 --hash ...         # the same hash, not recomputed
    python bench/project_tasks.py ours mint --users 1000 --count 500 --out tokens.txt [--dpop-jkt THUMBPRINT]
    python bench/project_tasks.py ours history --sessions 1000000 --tokens-per-session 5 --users 20000 --live-share 0.2
    python bench/project_tasks.py ours totp --users 3000 --hash ...                # prints {"secret": ...}
    python bench/project_tasks.py ours crowd --email crowd@bench.example --hash ... --logins 10000 --out tokens.txt
    python bench/project_tasks.py ours hash-cost --hash ... --password ... --verifies 20 --processes 2  # {"us": ...}

`seed` bulk-inserts N verified users user<i>@bench.example sharing one password hash: hashing once keeps the
setup fast, and the peer receives the hash the project made, so both verify exactly the same bytes.
`hash-cost` is what the password check of a login costs alone: the CPU time of Django's check_password on the
seeded hash, in as many processes as the server has workers, begun together, as the workers run under the load.
`mint` opens sessions the way each project's login does once the password is proven (the project's
start_session, simplejwt's RefreshToken.for_user) and writes one "access refresh" line per session; the
scenarios that need a signed-in user start from these, so only the endpoint under test is timed.
"""
import argparse
import collections
import json
import multiprocessing
import os
from pathlib import Path
import queue
import statistics
import sys
import time

BENCH = Path(__file__).resolve().parent
PROJECTS = {
    "ours": (BENCH.parent, "config.settings"),
    "peer": (BENCH / "peer", "peerproject.settings"),
    # This project at an earlier commit (run.py --baseline), checked out where BENCH_BASELINE_ROOT says.
    "baseline": (Path(os.environ.get("BENCH_BASELINE_ROOT", BENCH.parent)), "config.settings"),
}
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def email_of(index: int) -> str:
    return f"user{index}@bench.example"


def setup_django(project: str) -> None:
    root, settings_module = PROJECTS[project]
    sys.path.insert(0, str(root))
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()


def seed(users: int, password: str | None, password_hash: str | None) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    user_model = get_user_model()
    password_hash = password_hash or make_password(password)
    now = timezone.now()
    batch = 5000
    for start in range(0, users, batch):
        user_model.objects.bulk_create(
            [user_model(email=email_of(i), password=password_hash, email_verified_at=now, date_joined=now)
             for i in range(start, min(start + batch, users))])
    print(json.dumps({"hash": password_hash}))


def mint(project: str, users: int, count: int, out: Path, dpop_jkt: str = "") -> None:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    wanted = [email_of(i % users) for i in range(count)]
    by_email = {user.email: user for user in user_model.objects.filter(email__in=set(wanted))}
    if project in ("ours", "baseline"):
        from authcore.requestmeta import ClientInfo
        from sessions_app.services import start_session

        # With a DPoP key's thumbprint, sessions bound to it, as a login with a proof by that key opens them.
        client = ClientInfo(ip_address="127.0.0.1", user_agent=USER_AGENT, dpop_jkt=dpop_jkt)

        def issue(user) -> tuple[str, str]:
            tokens = start_session(user=user, client=client)
            return tokens.access, tokens.refresh
    else:
        from rest_framework_simplejwt.tokens import RefreshToken

        def issue(user) -> tuple[str, str]:
            refresh = RefreshToken.for_user(user)
            return str(refresh.access_token), str(refresh)

    with out.open("w") as lines:
        for email in wanted:
            access, refresh = issue(by_email[email])
            lines.write(f"{access} {refresh}\n")


def history(sessions: int, tokens_per_session: int, users: int, live_share: float = 0.0) -> None:
    """Grow our session tables: `sessions` sessions of the seeded users, each with `tokens_per_session`
    refresh tokens, written with PostgreSQL COPY (a million sessions and five million tokens take a minute or
    two). `live_share` of them are live (signed in last week, expiring in three weeks), the rest ended forty
    days ago, as a long-running service's history mostly is: the hot queries must find the rows they want by
    index whatever lies around them, and the purge has the dead to delete (bench/run.py's growth and purge
    runs). Every column not set here takes its model default, so new columns need no change."""
    from datetime import timedelta
    import secrets
    import uuid

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from sessions_app.models import RefreshToken, Session

    user_ids = list(get_user_model().objects.filter(email__in=[email_of(i) for i in range(users)])
                    .values_list("pk", flat=True))
    now = timezone.now()
    ended, signed_in = now - timedelta(days=40), now - timedelta(days=7)
    dead_row = {"created_at": ended, "last_used_at": ended, "expires_at": ended + timedelta(days=30),
                "idle_expires_at": ended + timedelta(days=7), "revoked_at": ended, "revoke_reason": "logout"}
    live_row = {"created_at": signed_in, "last_used_at": now - timedelta(hours=1),
                "expires_at": signed_in + timedelta(days=30), "idle_expires_at": now + timedelta(days=6),
                "revoked_at": None, "revoke_reason": ""}
    common = {"ip_address": "127.0.0.1", "user_agent": USER_AGENT, "device": "Chrome on Linux",
              "previous_token_hash": "", "rotated_at": None}
    fields = list(Session._meta.concrete_fields)
    defaults = {field.attname: field.get_default() for field in fields}
    columns = [field.column for field in fields]
    live_every = round(1 / live_share) if live_share else 0  # one live session in every `live_every`
    token_columns = ("session_id", "token_hash", "created_at")
    live = 0
    batch = 50_000
    with connection.cursor() as cursor:
        for start in range(0, sessions, batch):
            ids = [uuid.uuid4() for _ in range(min(batch, sessions - start))]
            with cursor.copy(f"COPY {Session._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
                for index, session_id in enumerate(ids):
                    is_live = bool(live_every) and (start + index) % live_every == 0
                    live += is_live
                    row = {**defaults, **common, **(live_row if is_live else dead_row), "id": session_id,
                           "user_id": user_ids[(start + index) % len(user_ids)],
                           "current_token_hash": secrets.token_hex(32)}
                    copy.write_row([row[field.attname] for field in fields])
            with cursor.copy(f"COPY {RefreshToken._meta.db_table} ({', '.join(token_columns)}) FROM STDIN") as copy:
                for session_id in ids:
                    for _ in range(tokens_per_session):
                        copy.write_row((session_id, secrets.token_hex(32), ended))
        # Housekeeping a long-running database has long done, so the timed rounds do not pay for the load:
        # VACUUM sets the hint bits and the visibility map (the first reads after COPY would write every page
        # again) and the planner's statistics; CHECKPOINT writes the dirty pages out before the clock starts.
        # Without them, rounds right after a load saw p99 spikes from those writes (make bench-scale).
        cursor.execute(f"VACUUM (ANALYZE) {Session._meta.db_table}")
        cursor.execute(f"VACUUM (ANALYZE) {RefreshToken._meta.db_table}")
        cursor.execute("CHECKPOINT")
    print(json.dumps({"sessions": sessions, "live": live, "dead": sessions - live,
                      "tokens": sessions * tokens_per_session}))


def crowd(email: str, password_hash: str, logins: int, out: Path, lines: int) -> None:
    """One user who signs in `logins` times (the session code of a login once the password is proven, so
    that no hash is timed), past the cap on live sessions per user: each sign-in past it ends the oldest.
    Writes `lines` "access refresh" lines of its newest sessions (repeated when it has fewer) and prints
    what the database holds for the user: the cap must bound the live sessions whatever the logins."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from authcore.requestmeta import ClientInfo
    from sessions_app.models import Session
    from sessions_app.services import start_session

    user = get_user_model().objects.create(email=email, password=password_hash, email_verified_at=timezone.now())
    client = ClientInfo(ip_address="127.0.0.1", user_agent=USER_AGENT)
    newest = collections.deque(maxlen=lines)
    for _ in range(logins):
        tokens = start_session(user=user, client=client)
        newest.append(f"{tokens.access} {tokens.refresh}\n")
    out.write_text("".join(newest[index % len(newest)] for index in range(lines)))
    rows = Session.objects.filter(user=user)
    print(json.dumps({"logins": logins, "live": rows.alive().count(), "rows": rows.count()}))


def totp(users: int, password_hash: str) -> None:
    """`users` verified accounts totp<i>@bench.example, each with a confirmed authenticator app; all share one
    secret (printed), so the bench computes one code per 30 s step for all of them. Each account's secret is
    encrypted bound to its own authenticator, as the enrolment stores it."""
    import uuid

    from django.contrib.auth import get_user_model
    from django.utils import timezone
    import pyotp

    from mfa.crypto import bound_to, vault
    from mfa.models import Authenticator

    user_model = get_user_model()
    secret = pyotp.random_base32()
    now = timezone.now()
    batch = 2000
    for start in range(0, users, batch):
        created = user_model.objects.bulk_create(
            [user_model(email=f"totp{i}@bench.example", password=password_hash, email_verified_at=now,
                        date_joined=now) for i in range(start, min(start + batch, users))])
        authenticators = []
        for user in created:
            authenticator = Authenticator(id=uuid.uuid4(), user=user, kind=Authenticator.Kind.TOTP, confirmed_at=now)
            authenticator.secret = vault.encrypt(secret, bound_to=bound_to(authenticator))
            authenticators.append(authenticator)
        Authenticator.objects.bulk_create(authenticators)
    print(json.dumps({"users": users, "secret": secret}))


def _verify_times(password: str, password_hash: str, verifies: int, start_together, results) -> None:
    """One process's checks, begun when every process is ready; its pid and times, or what went wrong, on `results`."""
    from django.contrib.auth.hashers import check_password

    try:
        start_together.wait(timeout=60)
        times = []
        for _ in range(verifies):
            started = time.process_time()
            if not check_password(password, password_hash):  # a refusal may cost less: time only the real check
                raise ValueError("the password does not match the hash")
            times.append(time.process_time() - started)
        results.put((os.getpid(), times, None))
    except Exception as error:  # noqa: BLE001 - reported to the parent, which fails the task
        results.put((os.getpid(), [], f"{type(error).__name__}: {error}"))


def hash_cost(password: str, password_hash: str, verifies: int, processes: int) -> None:
    """The median CPU time, in microseconds, of one check of `password` against `password_hash`, in `processes`
    processes checking `verifies` times each, begun together (a barrier), as the server's workers run under load."""
    context = multiprocessing.get_context("fork")
    start_together, results = context.Barrier(processes), context.Queue()
    children = [context.Process(target=_verify_times, args=(password, password_hash, verifies, start_together,
                                                            results)) for _ in range(processes)]
    for child in children:
        child.start()
    try:
        reports = [results.get(timeout=600) for _ in children]  # a child killed on the way never answers
    except queue.Empty:
        raise SystemExit("hash-cost: a checking process did not report") from None
    finally:
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
    failures = [error for _, _, error in reports if error]
    if failures:
        raise SystemExit(f"hash-cost: {failures[0]}")
    times = [elapsed for _, per_process, _ in reports for elapsed in per_process]
    print(json.dumps({"us": round(statistics.median(times) * 1e6), "verifies": len(times),
                      "processes": len({pid for pid, _, _ in reports})}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", choices=sorted(PROJECTS))
    commands = parser.add_subparsers(dest="command", required=True)
    seed_parser = commands.add_parser("seed")
    seed_parser.add_argument("--users", type=int, required=True)
    seed_parser.add_argument("--password")
    seed_parser.add_argument("--hash")
    mint_parser = commands.add_parser("mint")
    mint_parser.add_argument("--users", type=int, required=True)
    mint_parser.add_argument("--count", type=int, required=True)
    mint_parser.add_argument("--out", type=Path, required=True)
    mint_parser.add_argument("--dpop-jkt", default="", help="bind the sessions to this DPoP key (ours only)")
    totp_parser = commands.add_parser("totp")
    totp_parser.add_argument("--users", type=int, required=True)
    totp_parser.add_argument("--hash", required=True)
    history_parser = commands.add_parser("history")
    history_parser.add_argument("--sessions", type=int, required=True)
    history_parser.add_argument("--tokens-per-session", type=int, default=5)
    history_parser.add_argument("--users", type=int, required=True)
    history_parser.add_argument("--live-share", type=float, default=0.0, help="share of the sessions live, 0-1")
    crowd_parser = commands.add_parser("crowd")
    crowd_parser.add_argument("--email", required=True)
    crowd_parser.add_argument("--hash", required=True)
    crowd_parser.add_argument("--logins", type=int, required=True)
    crowd_parser.add_argument("--out", type=Path, required=True)
    crowd_parser.add_argument("--lines", type=int, default=8)
    cost_parser = commands.add_parser("hash-cost")
    cost_parser.add_argument("--hash", required=True)
    cost_parser.add_argument("--password", required=True)
    cost_parser.add_argument("--verifies", type=int, default=20, help="checks per process")
    cost_parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    setup_django(args.project)
    if args.command == "history":
        history(args.sessions, args.tokens_per_session, args.users, args.live_share)
    elif args.command == "totp":
        totp(args.users, args.hash)
    elif args.command == "crowd":
        crowd(args.email, args.hash, args.logins, args.out, args.lines)
    elif args.command == "hash-cost":
        hash_cost(args.password, args.hash, args.verifies, args.processes)
    elif args.command == "seed":
        if not (args.password or args.hash):
            parser.error("seed needs --password or --hash")
        seed(args.users, args.password, args.hash)
    else:
        mint(args.project, args.users, args.count, args.out, args.dpop_jkt)


if __name__ == "__main__":
    main()
