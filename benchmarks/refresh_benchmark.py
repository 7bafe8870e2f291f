"""Refresh and authenticated-request cost: this project's rotating refresh against djangorestframework-
simplejwt's rotating refresh with its blacklist app, on the same machine and the same database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python benchmarks/refresh_benchmark.py

What it measures (each a chain: every refresh presents the token the previous one returned):
  (a) ours: sessions_app.services.rotate_refresh_token in a loop, and POST /api/auth/refresh/ through the
      Django test client (the whole request path: middleware, DRF, rate-limit counter, JSON);
  (b) simplejwt: ROTATE_REFRESH_TOKENS + BLACKLIST_AFTER_ROTATION through its TokenRefreshView, same client;
  (c) an authenticated GET /api/auth/me/ (JWT + live-session check), and for reference the same view behind
      simplejwt's plain JWTAuthentication (no revocation check).
Statements are every statement the connection sends for one operation, BEGIN/COMMIT included (Django logs
them), counted in a separate pass so that counting does not slow the timed loops.

The settings are the test settings (config.settings_test) plus, for this script only, simplejwt's blacklist
app, the two rotation flags and a URL for its view; nothing in config/ is changed. The schema is created in
a throwaway test database (Django's test machinery: "test_<name>"), dropped at the end. Rate limiting stays
on (it is part of our request path) with a limit the benchmark cannot reach; it counts in the cache given by
REDIS_URL, or local memory. BENCH_N (default 1000) sets the operations per timed round; 3 rounds, median.
"""
import importlib
import json
import os
from pathlib import Path
import platform
import re
import statistics
import sys
import time
import types

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
os.environ.pop("DJANGO_SETTINGS_MODULE", None)

N = int(os.environ.get("BENCH_N", "1000"))
ROUNDS = 3
WARMUP = 50


def configure() -> None:
    import django
    from django.conf import settings

    base = importlib.import_module("config.settings_test")
    values = {name: getattr(base, name) for name in dir(base) if name.isupper()}
    values["INSTALLED_APPS"] = [*values["INSTALLED_APPS"], "rest_framework_simplejwt.token_blacklist"]
    values["SIMPLE_JWT"] = {**values["SIMPLE_JWT"], "ROTATE_REFRESH_TOKENS": True, "BLACKLIST_AFTER_ROTATION": True}
    values["AUTHCORE"] = {
        **values["AUTHCORE"],
        "RATE_LIMITS": {"login": {"ip": "1000000000/m"}, "refresh": {"ip": "1000000000/m"}},
    }
    values["ROOT_URLCONF"] = "refresh_benchmark_urls"
    values["LOGGING"] = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
    settings.configure(**values)
    django.setup()

    from django.urls import include, path
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.views import TokenRefreshView

    class PlainJWTMeView(APIView):
        """GET me/ behind simplejwt's own authentication: signature and exp only, no revocation check."""

        authentication_classes = [JWTAuthentication]
        permission_classes = [IsAuthenticated]

        def get(self, request):
            from accounts.api.serializers import UserSerializer

            return Response(UserSerializer(request.user).data)

    urls = types.ModuleType("refresh_benchmark_urls")
    urls.urlpatterns = [
        path("simplejwt/refresh/", TokenRefreshView.as_view()),
        path("simplejwt/me/", PlainJWTMeView.as_view()),
        path("", include("config.urls")),
    ]
    sys.modules["refresh_benchmark_urls"] = urls


def timed(operation, n: int) -> float:
    """Operations per second: median of ROUNDS rounds of n operations, after a warm-up."""
    for _ in range(WARMUP):
        operation()
    rates = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(n):
            operation()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def statements(operation) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    operation()  # not the first of its kind: no one-off work in the count
    with CaptureQueriesContext(connection) as captured:
        operation()
    return [query["sql"] for query in captured.captured_queries]


def describe(sql: list[str]) -> str:
    """"SELECT sessions_app_refreshtoken, UPDATE sessions_app_session, ...": each statement and its table."""
    words = []
    for statement in sql:
        head = statement.split(None, 1)[0].upper()
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', statement)
        words.append(f"{head} {table.group(1)}" if table else head)
    return ", ".join(words)


def main() -> None:
    configure()
    import django
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases, teardown_test_environment
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken as SimpleJWTRefreshToken

    from accounts.models import User
    from authcore.requestmeta import ClientInfo
    from sessions_app import services

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        user = User.objects.create_user("bench@example.com", None, email_verified_at=timezone.now())
        client = Client()
        meta = ClientInfo(ip_address="127.0.0.1", user_agent="benchmark")

        def chain(step):
            """An operation that refreshes the token the previous call returned."""
            state = {}

            def operation():
                state["token"] = step(state.get("token"))

            return operation

        def service_step(token):
            token = token or services.start_session(user=user, client=meta).refresh
            return services.rotate_refresh_token(raw_refresh=token, client=meta).refresh

        def post_json(path, token):
            response = client.post(path, json.dumps({"refresh": token}), content_type="application/json")
            assert response.status_code == 200, response.content
            return response.json()["refresh"]

        def api_step(token):
            return post_json("/api/auth/refresh/", token or services.start_session(user=user, client=meta).refresh)

        def simplejwt_step(token):
            return post_json("/simplejwt/refresh/", token or str(SimpleJWTRefreshToken.for_user(user)))

        access = services.start_session(user=user, client=meta).access
        auth = {"HTTP_AUTHORIZATION": f"Bearer {access}"}

        def me(path):
            def operation():
                response = client.get(path, **auth)
                assert response.status_code == 200, response.content

            return operation

        cases = [
            ("ours: rotate_refresh_token (service)", chain(service_step)),
            ("ours: POST /api/auth/refresh/", chain(api_step)),
            ("simplejwt + blacklist: TokenRefreshView", chain(simplejwt_step)),
            ("ours: GET /api/auth/me/ (JWT + live session)", me("/api/auth/me/")),
            ("simplejwt JWTAuthentication: GET me (no revocation)", me("/simplejwt/me/")),
        ]
        results = {}
        for name, operation in cases:
            sql = statements(operation)
            results[name] = (timed(operation, N), sql)

        with connection.cursor() as cursor:
            cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
            server = cursor.fetchone()[0].split(" on ")[0]
        cache = "Redis" if os.environ.get("REDIS_URL") else "local memory"
        print(f"Python {platform.python_version()}, Django {django.get_version()}, {os.cpu_count()} CPUs, "
              f"database {connection.vendor} ({server}, {connection.settings_dict['NAME']}), cache {cache}")
        print(f"{N} operations per round, median of {ROUNDS} rounds, single thread\n")
        width = max(len(name) for name in results)
        print(f"{'operation':<{width}}  {'ops/s':>8}  {'ms/op':>6}  statements")
        for name, (rate, sql) in results.items():
            print(f"{name:<{width}}  {rate:>8.0f}  {1000 / rate:>6.2f}  {len(sql):>2}: {describe(sql)}")

        ours, theirs = results["ours: POST /api/auth/refresh/"], results["simplejwt + blacklist: TokenRefreshView"]
        print(f"\nrefresh through the API, ours vs simplejwt: {ours[0] / theirs[0]:.2f}x the refreshes per second, "
              f"{len(ours[1])} vs {len(theirs[1])} statements ({len(theirs[1]) / len(ours[1]):.1f}x fewer)")
        me_ours, me_plain = results["ours: GET /api/auth/me/ (JWT + live session)"], \
            results["simplejwt JWTAuthentication: GET me (no revocation)"]
        print(f"authenticated GET, ours vs plain simplejwt: {me_ours[0] / me_plain[0]:.2f}x the requests per second, "
              f"{len(me_ours[1])} vs {len(me_plain[1])} queries")
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
