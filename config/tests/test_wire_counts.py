"""What goes over the wire per request, counted where the test client cannot see it: every message the
database driver sends to PostgreSQL (libpq's own trace, through Django's real WSGI handler, so the
connection health check and transaction statements count) and every request written to Redis's socket
(one round trip each; a script's inner commands run on the server and cost none).

PostgreSQL round trips are the frontend's Query messages (simple protocol) and Sync messages (the end of
each extended-protocol exchange). A prepared statement is parsed once per connection (a round trip of its
own, on the first request only) and then only bound and executed by name; the trace of a later request
shows the name, which is mapped back to the text parsed earlier on the same connection."""
import dataclasses
import json
import os
import re
import tempfile

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory
import pytest
from redis.connection import AbstractConnection

from authcore.testing import PASSWORD
from sessions_app.tests.dpop_client import DPoPKey
from sessions_app.tests.helpers import CLIENT, open_session

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
FRONTEND_MESSAGE = re.compile(r"\tF\t\d+\t(\w+)\t?(.*)$")
QUERY = re.compile(r' "(.*)"$')
PARSE = re.compile(r' "([^"]*)" "(.*)" \d+(?: \d+)*$')
BIND = re.compile(r' "[^"]*" "([^"]*)"')


class PostgresTrace:
    """Reads libpq traces of one connection: statements executed and round trips, in order."""

    def __init__(self) -> None:
        self.parsed: dict[str, str] = {}  # statement name -> text, kept across requests

    def read(self, lines) -> tuple[list[str], int]:
        statements, round_trips, bound = [], 0, None
        for line in lines:
            match = FRONTEND_MESSAGE.search(line.rstrip("\n"))
            if not match:
                continue
            kind, rest = match.groups()
            if kind == "Query":
                statements.append(QUERY.match(rest).group(1))
                round_trips += 1
            elif kind == "Parse":
                name, text = PARSE.match(rest).groups()
                self.parsed[name] = text
            elif kind == "Bind":
                bound = self.parsed[BIND.match(rest).group(1)]
            elif kind == "Execute":
                statements.append(bound)
            elif kind == "Sync":
                round_trips += 1
        return statements, round_trips


class Wire:
    def __init__(self, monkeypatch) -> None:
        if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
            pytest.skip("needs Redis (set REDIS_URL)")
        self.handler = WSGIHandler()
        self.postgres = PostgresTrace()
        self.redis_requests = 0
        send = AbstractConnection.send_packed_command

        def counted(connection, command, *args, **kwargs):
            self.redis_requests += 1  # one write of one request (or one pipeline) to the socket
            return send(connection, command, *args, **kwargs)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)

    def send(self, request):
        """One request through the WSGI handler; returns (status, body, statements sent to PostgreSQL,
        PostgreSQL round trips, Redis round trips)."""
        connection.ensure_connection()
        descriptor, path = tempfile.mkstemp()
        before = self.redis_requests
        connection.connection.pgconn.trace(descriptor)
        try:
            status = {}
            body = b"".join(self.handler(request.environ, lambda value, headers: status.update(value=value)))
        finally:
            if connection.connection is not None:
                connection.connection.pgconn.untrace()
            os.close(descriptor)
        redis = self.redis_requests - before
        with open(path) as trace:
            statements, round_trips = self.postgres.read(trace)
        os.unlink(path)
        return status["value"], body, statements, round_trips, redis


@pytest.fixture
def wire(monkeypatch):
    return Wire(monkeypatch)


def get(path, **headers):
    return RequestFactory().get(path, **headers)


def post(path, data, **headers):
    return RequestFactory().post(path, data, content_type="application/json", **headers)


def test_an_authenticated_request_is_one_round_trip_and_no_redis(wire, alice):
    """The revocation check is the user lookup itself. Django's connection health check
    (DATABASE_CONN_HEALTH_CHECKS, on by default) reads the socket instead of sending SELECT 1
    (authcore/backends/postgresql), and the lookup is a prepared statement: parsed and planned once per
    connection, then only bound and executed."""
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"]
    tokens = open_session(alice)

    def me():
        return get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens.access}")

    # The first request opens the connection (its setup statements) and prepares the lookup.
    assert wire.send(me())[0] == "200 OK"
    status, _, statements, round_trips, redis = wire.send(me())

    assert status == "200 OK"
    assert round_trips == 1 and len(statements) == 1
    assert statements[0].startswith('SELECT "accounts_user"')
    assert '"sessions_app_session"."revoked_at" IS NULL' in statements[0]
    assert redis == 0


def test_a_refresh_is_one_round_trip_and_two_to_redis(wire, alice):
    """One statement rotates (find the token, compare-and-set, record the new token; one commit); Redis
    serves the per-IP limit (django-ratelimit: SET NX, then the increment as one script)."""
    tokens = open_session(alice)
    status, body, *_ = wire.send(post("/api/auth/refresh/", {"refresh": tokens.refresh}))
    current = json.loads(body)["refresh"]

    status, _, statements, round_trips, redis = wire.send(post("/api/auth/refresh/", {"refresh": current}))

    assert status == "200 OK"
    assert round_trips == 1 and len(statements) == 1 and statements[0].startswith("WITH presented AS")
    assert redis == 2


def test_a_login_is_seven_statements_and_three_redis_round_trips(wire, user):
    """Beyond the password hash: the user, with whether they have a second factor in the same statement (none here:
    the login needs no second step, accounts.second_factor.with_factor_flag), then one transaction (last login,
    which also locks the user's row; the sessions past SESSIONS_APP["MAX_SESSIONS_PER_USER"], none here; the
    session, its first token and the login's audit record in one statement, authcore.backends.insert_together; the
    user's recent sessions for the new-device alert, accounts/flows/sign_in_alerts.py); Redis serves the per-IP
    limit (2) and the failure counters (one read; with no failure on record there is nothing to clear).

    Seven: the factors were a statement of their own before the user's lookup said whether there are any, and the
    session, its token and its audit record three INSERTs. The cap costs the one SELECT of the sessions past it,
    and no lock of its own, since the UPDATE of last_login already holds the user's row
    (sessions_app.services._make_room). Only a login past the cap adds more: the UPDATE that ends the oldest
    session, and its event."""
    def log_in():
        return post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD})

    # The first logins open the connection and prepare the fixed statements (the first login of an account has no
    # earlier one to compare its device with, so the new-device look is prepared by the second).
    wire.send(log_in())
    wire.send(log_in())
    status, _, statements, round_trips, redis = wire.send(log_in())

    assert status == "200 OK"
    assert round_trips == len(statements) == 7
    kinds = [statement.split()[0] + (" " + statement.split()[2] if statement.startswith("INSERT") else "")
             for statement in statements]
    assert statements[0].startswith('SELECT "accounts_user"') and 'EXISTS' in statements[0]
    assert '"mfa_authenticator"' in statements[0]
    assert kinds == ["SELECT", "BEGIN", "UPDATE", "SELECT", "WITH", "SELECT", "COMMIT"]
    # Every statement but BEGIN and COMMIT is a fixed one, prepared once per connection (its parameters bound, $n):
    # the user's lookup (UserManager.get_by_natural_key), last_login (accounts.flows.login._record_login_sql), the
    # cap's SELECT, the rows (authcore.backends.insert_together) and the new-device look.
    assert all("$1" in statement for statement in statements if statement not in ("BEGIN", "COMMIT"))
    # The cap's SELECT: the user's live sessions past the newest cap - 1, newest first, skipped with OFFSET.
    assert statements[3].startswith('SELECT s.id FROM "sessions_app_session"') and " OFFSET $3" in statements[3]
    assert statements[5].startswith('SELECT s.device, s.ip_address FROM "sessions_app_session"')
    assert [table for table in ("sessions_app_session", "sessions_app_refreshtoken", "sessions_app_securityevent")
            if f'INSERT INTO "{table}"' in statements[4]] == ["sessions_app_session", "sessions_app_refreshtoken",
                                                              "sessions_app_securityevent"]
    assert not any("FOR NO KEY UPDATE" in statement or "FOR UPDATE" in statement for statement in statements)
    assert redis == 3


def test_a_login_past_the_session_cap_ends_the_oldest_in_two_more_statements(wire, user, settings):
    """At the cap, the login also ends the oldest session (one UPDATE) and audits it (one INSERT): nine."""
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "MAX_SESSIONS_PER_USER": 1}

    def log_in():
        return post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD})

    # The first logins open the connection and prepare the fixed statements (the first login of an account has no
    # earlier one to compare its device with, so the new-device look is prepared by the second).
    wire.send(log_in())
    wire.send(log_in())
    status, _, statements, round_trips, _ = wire.send(log_in())

    assert status == "200 OK"
    assert round_trips == len(statements) == 9
    kinds = [statement.split()[0] + (" " + statement.split()[2] if statement.startswith("INSERT") else "")
             for statement in statements]
    assert kinds == ["SELECT", "BEGIN", "UPDATE", "SELECT", "UPDATE", 'INSERT "sessions_app_securityevent"',
                     "WITH", "SELECT", "COMMIT"]
    assert "'session_limit'" in statements[4]


def test_a_login_with_the_device_cookie_swaps_the_new_device_lookup_for_the_distrust_check(wire, user):
    """The device cookie already says the device is known (accounts/flows/sign_in_alerts.py): the login needs no look
    at the user's recent sessions. Checking the cookie costs one indexed lookup, whether its owner reported
    the device (models.DistrustedDevice), so the login stays at seven statements (the user and whether they have a
    factor in one; the session cap's SELECT; the session, its token and its audit record in one)."""
    from accounts.conf import app_settings as accounts_settings
    from accounts.login_throttle import device_token_for

    cookie = f"{accounts_settings.DEVICE_COOKIE_NAME}={device_token_for(user)}"

    def log_in():
        return post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD}, HTTP_COOKIE=cookie)

    # The first logins open the connection and prepare the fixed statements (the first login of an account has no
    # earlier one to compare its device with, so the new-device look is prepared by the second).
    wire.send(log_in())
    wire.send(log_in())
    status, _, statements, round_trips, _ = wire.send(log_in())

    assert status == "200 OK"
    assert round_trips == len(statements) == 7
    # The one SELECT of sessions is the cap's (the sessions past it), not the new-device look.
    session_selects = [statement for statement in statements
                       if "sessions_app_session" in statement and statement.startswith("SELECT")]
    assert len(session_selects) == 1 and " OFFSET " in session_selects[0]
    assert sum("accounts_distrusteddevice" in statement for statement in statements) == 1


def test_a_login_with_a_second_factor(wire, user):
    """The password step of an account with an authenticator app: the user, its factor and its unused recovery
    codes (the methods it may answer with), and no transaction; Redis: the per-IP limit (2), the failure counters
    (1), the second step kept (1). The second step: its per-IP limit (2), the step read back (1), the counters (1),
    the step spent (1); PostgreSQL: the user, the factor, its step moved forward (replay), then the login's
    transaction (the statements of a password login, plus the new-device look at the user's sessions; the SELECT
    after the UPDATE of last_login is the session cap's, sessions_app.services._make_room)."""
    import pyotp

    from mfa.crypto import bound_to, vault
    from mfa.flows import _replace_recovery_codes
    from mfa.models import Authenticator

    secret = pyotp.random_base32()
    authenticator = Authenticator(user=user, kind=Authenticator.Kind.TOTP)
    authenticator.secret = vault.encrypt(secret, bound_to=bound_to(authenticator))
    authenticator.confirmed_at = authenticator.created_at
    authenticator.save()
    recovery_codes = _replace_recovery_codes(user)[:2]

    def password_step():
        return wire.send(post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD}))

    # Twice before, so that the limits' counters exist (a first request in a window costs one round trip less) and
    # the fixed statements are prepared (the first login of an account has no earlier one to compare its device with,
    # so the new-device look is prepared by the second).
    for recovery_code in recovery_codes:
        _, body, *_ = password_step()
        wire.send(post("/api/auth/login/mfa/", {"mfa_token": json.loads(body)["mfa_token"],
                                                "recovery_code": recovery_code}))

    status, body, statements, round_trips, redis = password_step()
    assert status.startswith("401") and round_trips == len(statements) == 3
    assert ['"accounts_user"' in statements[0], '"mfa_authenticator"' in statements[1],
            '"mfa_recoverycode"' in statements[2]] == [True, True, True]
    assert redis == 4

    token = json.loads(body)["mfa_token"]
    status, _, statements, round_trips, redis = wire.send(
        post("/api/auth/login/mfa/", {"mfa_token": token, "code": pyotp.TOTP(secret).now()}))
    assert status == "200 OK", statements
    kinds = [statement.split()[0] for statement in statements]
    assert kinds == ["SELECT", "SELECT", "UPDATE", "BEGIN", "UPDATE", "SELECT", "WITH", "SELECT", "COMMIT"]
    assert round_trips == len(statements) and redis == 5


def test_a_dpop_request_adds_one_redis_round_trip(wire, alice):
    """GET me with a DPoP-bound token and its proof: the same one statement, and one Redis request, the proof's jti
    remembered (SET NX) so that it works once in every process."""
    key = DPoPKey()
    tokens = open_session(alice, client=dataclasses.replace(CLIENT, dpop_jkt=key.thumbprint))

    def me():
        return get("/api/auth/me/", **key.headers("GET", "/api/auth/me/", access_token=tokens.access))

    assert wire.send(me())[0] == "200 OK"
    status, _, statements, round_trips, redis = wire.send(me())

    assert status == "200 OK"
    assert round_trips == 1 and len(statements) == 1 and statements[0].startswith('SELECT "accounts_user"')
    assert redis == 1


def test_a_dpop_refresh_adds_one_redis_round_trip(wire, alice):
    key = DPoPKey()
    tokens = open_session(alice, client=dataclasses.replace(CLIENT, dpop_jkt=key.thumbprint))
    status, body, *_ = wire.send(post("/api/auth/refresh/", {"refresh": tokens.refresh},
                                      **key.headers("POST", "/api/auth/refresh/")))
    current = json.loads(body)["refresh"]

    status, _, statements, round_trips, redis = wire.send(post("/api/auth/refresh/", {"refresh": current},
                                                               **key.headers("POST", "/api/auth/refresh/")))
    assert status == "200 OK"
    assert round_trips == 1 and len(statements) == 1 and statements[0].startswith("WITH presented AS")
    assert redis == 3  # the per-IP limit (two), the proof's jti (one)



def test_a_page_of_sessions_is_two_round_trips_whatever_the_user_has(wire, alice):
    """GET sessions/: the authentication's lookup, then one page of at most SESSIONS_PAGE_SIZE sessions by keyset
    (sessions_app.selectors.live_sessions_page); the same two round trips for 3 sessions as for 90 (under the cap of
    100), and for the page after the first."""
    from django.test import Client

    from sessions_app.models import Session

    tokens = open_session(alice)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens.access}"}
    answers = {}
    for total in (3, 90):
        while Session.objects.filter(user=alice, revoked_at__isnull=True).count() < total:
            open_session(alice)
        wire.send(get("/api/auth/sessions/", **auth))  # the connection's setup and the prepared lookup
        status, body, statements, round_trips, redis = wire.send(get("/api/auth/sessions/", **auth))
        answers[total] = (status, round_trips, len(statements), redis, len(json.loads(body)))
    assert answers == {3: ("200 OK", 2, 2, 0, 3), 90: ("200 OK", 2, 2, 0, 10)}  # a page: 10 by default

    link = Client().get("/api/auth/sessions/", **auth)["Link"]
    next_path = link.split(";")[0].strip("<>")
    status, body, statements, round_trips, redis = wire.send(get(next_path, **auth))
    assert (status, round_trips, redis, len(json.loads(body))) == ("200 OK", 2, 0, 10)
