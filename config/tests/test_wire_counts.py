"""What goes over the wire per request, counted where the test client cannot see it: every message the
database driver sends to PostgreSQL (libpq's own trace, through Django's real WSGI handler, so the
connection health check and transaction statements count) and every command Redis processes."""
import json
import os
import re
import tempfile

from django.conf import settings
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory
import pytest

from authcore.testing import PASSWORD
from sessions_app.tests.helpers import open_session

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
FRONTEND_STATEMENT = re.compile(r"\tF\t\d+\t(?:Query|Parse)\t \"(.*)\"$")


def redis_client():
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("needs Redis (set REDIS_URL)")
    return cache._cache.get_client(write=True)


def redis_commands_processed(client) -> int:
    # INFO itself is one command: the caller subtracts it.
    return client.info("stats")["total_commands_processed"]


class Wire:
    def __init__(self) -> None:
        self.handler = WSGIHandler()

    def send(self, request):
        """One request through the WSGI handler; returns (status, statements sent to PostgreSQL, Redis
        commands processed)."""
        client = redis_client()
        connection.ensure_connection()
        descriptor, path = tempfile.mkstemp()
        before = redis_commands_processed(client)
        connection.connection.pgconn.trace(descriptor)
        try:
            status = {}
            body = b"".join(self.handler(request.environ, lambda value, headers: status.update(value=value)))
        finally:
            if connection.connection is not None:
                connection.connection.pgconn.untrace()
            os.close(descriptor)
        redis = redis_commands_processed(client) - before - 1
        with open(path) as trace:
            statements = [match.group(1) for line in trace if (match := FRONTEND_STATEMENT.search(line.rstrip()))]
        os.unlink(path)
        return status["value"], body, statements, redis


@pytest.fixture
def wire():
    return Wire()


def get(path, **headers):
    return RequestFactory().get(path, **headers)


def post(path, data, **headers):
    return RequestFactory().post(path, data, content_type="application/json", **headers)


def test_an_authenticated_request_is_two_round_trips_and_no_redis(wire, alice):
    """The revocation check is the user lookup itself; the other round trip is Django's connection health
    check (DATABASE_CONN_HEALTH_CHECKS)."""
    tokens = open_session(alice)

    def me():
        return get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens.access}")

    wire.send(me())  # the connection opens (and its setup statements are sent) on the first request
    status, _, statements, redis = wire.send(me())

    assert status == "200 OK"
    assert statements[0] == "SELECT 1" and len(statements) == 2
    assert statements[1].startswith('SELECT "accounts_user"')
    assert '"sessions_app_session"."revoked_at" IS NULL' in statements[1]
    assert redis == 0


def test_a_refresh_is_two_round_trips_and_three_redis_commands(wire, alice):
    """One statement rotates (find the token, compare-and-set, record the new token; one commit); Redis
    serves the per-IP limit (django-ratelimit: SET NX, then EXISTS and INCRBY)."""
    tokens = open_session(alice)
    status, body, _, _ = wire.send(post("/api/auth/refresh/", {"refresh": tokens.refresh}))
    current = json.loads(body)["refresh"]

    status, _, statements, redis = wire.send(post("/api/auth/refresh/", {"refresh": current}))

    assert status == "200 OK"
    assert statements[0] == "SELECT 1" and len(statements) == 2 and statements[1].startswith("WITH presented AS")
    assert redis == 3


def test_a_login_is_eight_statements_and_five_redis_commands(wire, user):
    """Beyond the password hash: the user, then one transaction (last login, the session and its first token,
    the audit record); Redis serves the per-IP limit (3) and the failure counters (read, clear)."""
    def log_in():
        return post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD})

    wire.send(log_in())
    status, _, statements, redis = wire.send(log_in())

    assert status == "200 OK"
    kinds = [statement.split()[0] + (" " + statement.split()[2] if statement.startswith("INSERT") else "")
             for statement in statements]
    assert kinds == ["SELECT", "SELECT", "BEGIN", "UPDATE", 'INSERT "sessions_app_session"',
                     'INSERT "sessions_app_refreshtoken"', 'INSERT "sessions_app_securityevent"', "COMMIT"]
    assert redis == 5
