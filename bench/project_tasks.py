"""Setup work done inside one of the two benchmarked projects (its own settings, models and services), run by
bench/run.py as a subprocess with that project's environment:

    python bench/project_tasks.py ours seed --users 1000 --password ...     # prints {"hash": ...}
    python bench/project_tasks.py peer seed --users 1000 --hash ...         # the same hash, not recomputed
    python bench/project_tasks.py ours mint --users 1000 --count 500 --out tokens.txt [--dpop-jkt THUMBPRINT]
    python bench/project_tasks.py ours history --sessions 1000000 --tokens-per-session 5 --users 1000

`seed` bulk-inserts N verified users user<i>@bench.example sharing one password hash: hashing once keeps the
setup fast, and the peer receives the hash the project made, so both verify exactly the same bytes.
`mint` opens sessions the way each project's login does once the password is proven (the project's
start_session, simplejwt's RefreshToken.for_user) and writes one "access refresh" line per session; the
scenarios that need a signed-in user start from these, so only the endpoint under test is timed.
"""
import argparse
import json
import os
from pathlib import Path
import sys

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


def history(sessions: int, tokens_per_session: int, users: int) -> None:
    """Grow our session tables (growth test): `sessions` ended sessions of the seeded users, each with
    `tokens_per_session` spent refresh tokens, written with PostgreSQL COPY (a million sessions and five
    million tokens take a minute or two). They are dead, as a long-running service's history mostly is:
    the hot queries must find the few live rows by index whatever lies around them."""
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
    ended = now - timedelta(days=40)
    session_columns = ("id", "user_id", "created_at", "last_used_at", "expires_at", "idle_expires_at",
                       "revoked_at", "revoke_reason", "ip_address", "user_agent", "device",
                       "current_token_hash", "previous_token_hash", "rotated_at")
    token_columns = ("session_id", "token_hash", "created_at")
    batch = 50_000
    with connection.cursor() as cursor:
        for start in range(0, sessions, batch):
            ids = [uuid.uuid4() for _ in range(min(batch, sessions - start))]
            with cursor.copy(f"COPY {Session._meta.db_table} ({', '.join(session_columns)}) FROM STDIN") as copy:
                for index, session_id in enumerate(ids):
                    copy.write_row((session_id, user_ids[(start + index) % len(user_ids)], ended, ended,
                                    ended + timedelta(days=30), ended + timedelta(days=7), ended, "logout",
                                    "127.0.0.1", USER_AGENT, "Chrome on Linux", secrets.token_hex(32), "", None))
            with cursor.copy(f"COPY {RefreshToken._meta.db_table} ({', '.join(token_columns)}) FROM STDIN") as copy:
                for session_id in ids:
                    for _ in range(tokens_per_session):
                        copy.write_row((session_id, secrets.token_hex(32), ended))
        cursor.execute(f"ANALYZE {Session._meta.db_table}")
        cursor.execute(f"ANALYZE {RefreshToken._meta.db_table}")
    print(json.dumps({"sessions": sessions, "tokens": sessions * tokens_per_session}))


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
    history_parser = commands.add_parser("history")
    history_parser.add_argument("--sessions", type=int, required=True)
    history_parser.add_argument("--tokens-per-session", type=int, default=5)
    history_parser.add_argument("--users", type=int, required=True)
    args = parser.parse_args()
    setup_django(args.project)
    if args.command == "history":
        history(args.sessions, args.tokens_per_session, args.users)
    elif args.command == "seed":
        if not (args.password or args.hash):
            parser.error("seed needs --password or --hash")
        seed(args.users, args.password, args.hash)
    else:
        mint(args.project, args.users, args.count, args.out, args.dpop_jkt)


if __name__ == "__main__":
    main()
