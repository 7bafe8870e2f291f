"""Setup work done inside one of the two benchmarked projects (its own settings, models and services), run by
bench/run.py as a subprocess with that project's environment:

    python bench/project_tasks.py ours seed --users 1000 --password ...     # prints {"hash": ...}
    python bench/project_tasks.py peer seed --users 1000 --hash ...         # the same hash, not recomputed
    python bench/project_tasks.py ours mint --users 1000 --count 500 --out tokens.txt

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


def mint(project: str, users: int, count: int, out: Path) -> None:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    wanted = [email_of(i % users) for i in range(count)]
    by_email = {user.email: user for user in user_model.objects.filter(email__in=set(wanted))}
    if project == "ours":
        from authcore.requestmeta import ClientInfo
        from sessions_app.services import start_session

        client = ClientInfo(ip_address="127.0.0.1", user_agent=USER_AGENT)

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
    args = parser.parse_args()
    setup_django(args.project)
    if args.command == "seed":
        if not (args.password or args.hash):
            parser.error("seed needs --password or --hash")
        seed(args.users, args.password, args.hash)
    else:
        mint(args.project, args.users, args.count, args.out)


if __name__ == "__main__":
    main()
