"""Health endpoints for load balancers and orchestrators, answered before any other middleware.

- `GET /healthz`: the process is up and serving (no dependency is touched).
- `GET /readyz`: the process can do its work: the database answers, the cache answers, and every
  migration is applied. 200 when all hold, 503 otherwise; the body names each check's state and nothing
  else (no error text, no host names, no versions).

They run first in the middleware chain, so a probe is answered whatever its Host header (a load balancer
probes by IP), over plain HTTP (no redirect to https), without sessions, CSRF or CORS work: cheap.
"""
import json

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse

from authcore.ratelimit import CACHE_BACKEND_ERRORS

PATHS = {"/healthz", "/readyz"}
_migrations_applied: set[str] = set()  # aliases found fully migrated once: a new migration needs a deploy


def _database_ready(alias: str = DEFAULT_DB_ALIAS) -> tuple[str, str]:
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure to reach it is "unavailable"; the detail goes to no one
        return "unavailable", "unknown"
    if alias in _migrations_applied:
        return "ok", "ok"
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:
        return "ok", "unknown"
    if pending:
        return "ok", "pending"
    _migrations_applied.add(alias)
    return "ok", "ok"


def _cache_ready() -> str:
    try:
        cache.get("readyz-probe")
    except CACHE_BACKEND_ERRORS:
        return "unavailable"
    return "ok"


def _answer(status: int, body: dict) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path not in PATHS or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if request.path == "/healthz":
            return _answer(200, {"status": "ok"})
        database, migrations = _database_ready()
        checks = {"database": database, "migrations": migrations, "cache": _cache_ready()}
        ready = all(state == "ok" for state in checks.values())
        return _answer(200 if ready else 503, {"status": "ok" if ready else "unavailable", "checks": checks})
