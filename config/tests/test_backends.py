"""The database and cache backends (authcore/backends): the health check that sends nothing still replaces
a connection the server has closed, and the rate-limit increment is one atomic round trip."""
import json
import time

from django.conf import settings
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import RequestFactory
import pytest

from sessions_app.tests.helpers import open_session

from .conftest import run_from_outside, terminate_from_outside

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def serve(handler, request):
    status = {}
    body = b"".join(handler(request.environ, lambda value, headers: status.update(value=value)))
    return status["value"], body


@pytest.mark.parametrize("attempt", range(3))
def test_a_connection_the_server_closed_is_replaced_before_the_request_uses_it(alice, attempt):
    tokens = open_session(alice)
    handler = WSGIHandler()
    me = RequestFactory().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens.access}")
    assert serve(handler, me)[0] == "200 OK"
    old_pid = connection.connection.info.backend_pid

    terminate_from_outside(old_pid)
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:  # the server's notice is on its way
        time.sleep(0.01)

    status, _ = serve(handler, me)
    assert status == "200 OK"
    assert connection.connection.info.backend_pid != old_pid


def test_a_healthy_idle_connection_is_usable_without_a_query(alice):
    connection.ensure_connection()
    before = connection.connection.pgconn.transaction_status
    assert connection.is_usable()
    assert connection.connection.pgconn.transaction_status == before
    # The stock check would have sent a statement; ours reads the socket only (counted on the wire in
    # test_wire_counts.py).
    assert type(connections["default"]).__module__ == "authcore.backends.postgresql.base"


@pytest.fixture
def redis_client():
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("needs Redis (set REDIS_URL)")
    return cache._cache.get_client(write=True)


def top_level_calls(client) -> dict[str, int]:
    """Calls per command the server has run; a script's inner commands count under their own names."""
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in client.info("commandstats").items()}


def test_increment_is_one_round_trip_and_keeps_the_expiry(redis_client):
    cache.set("counter", 1, timeout=100)
    cache.incr("counter")  # the first call loads the script by hash
    before = top_level_calls(redis_client)

    assert cache.incr("counter", 5) == 7

    after = top_level_calls(redis_client)
    sent = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    # One EVALSHA from the client; EXISTS and INCRBY ran inside it on the server.
    assert sent == {"evalsha": 1, "exists": 1, "incrby": 1, "info": 1}
    assert 95 <= redis_client.ttl(cache.make_key("counter")) <= 100


def test_increment_of_a_missing_key_raises_and_creates_nothing(redis_client):
    with pytest.raises(ValueError):
        cache.incr("absent")
    assert not redis_client.exists(cache.make_key("absent"))
    assert cache.get("absent") is None


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_the_live_session_lookup_is_prepared_once_per_connection(alice):
    tokens = open_session(alice)
    handler = WSGIHandler()
    me = RequestFactory().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens.access}")
    for _ in range(3):
        assert serve(handler, me)[0] == "200 OK"

    # The user of a live session (a login's own fixed statements, opening the session above, are prepared too).
    lookups = [statement for statement in prepared_statements()
               if statement.startswith('SELECT "accounts_user"') and '"sessions_app_session"' in statement]
    assert len(lookups) == 1


def test_prepared_statements_can_be_turned_off_for_poolers_that_cannot_keep_them(alice, monkeypatch):
    connection.close()
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepared_statements", False)
    tokens = open_session(alice)
    handler = WSGIHandler()
    me = RequestFactory().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens.access}")
    for _ in range(3):
        assert serve(handler, me)[0] == "200 OK"

    assert prepared_statements() == []
    connection.close()  # the next test connects with the settings restored


def test_one_cursor_serves_a_connections_fixed_statements_until_the_connection_is_replaced(alice):
    from authcore.backends import fetch_one_prepared

    connection.close()
    assert fetch_one_prepared(connection, "SELECT 1", []) == (1,)
    first = connection.prepared_cursor().cursor
    assert fetch_one_prepared(connection, "SELECT 2", []) == (2,)
    assert connection.prepared_cursor().cursor is first and not first.closed

    connection.close()
    assert fetch_one_prepared(connection, "SELECT 3", []) == (3,)
    assert connection.prepared_cursor().cursor is not first


@pytest.mark.parametrize("database_zone, use_tz", [(None, True), ("UTC", True), ("Europe/Paris", True),
                                                    (None, False)])
def test_timestamps_read_by_a_fixed_statement_are_those_django_reads(alice, database_zone, use_tz, settings,
                                                                   monkeypatch):
    """psycopg's own loader in Django's default (UTC); Django's wherever Django reads them otherwise: naive without
    USE_TZ, in the zone a database's TIME_ZONE names (a ZoneInfo, even for "UTC"). Also when the settings change
    under an open connection whose cursor for fixed statements is already made (as a test's settings do)."""
    from authcore.backends import fetch_one_prepared

    def forget_the_zone():
        for cached in ("timezone", "timezone_name"):
            connection.__dict__.pop(cached, None)

    assert fetch_one_prepared(connection, "SELECT 1", []) == (1,)  # the cursor is made, under the defaults
    monkeypatch.setitem(connection.settings_dict, "TIME_ZONE", database_zone)
    settings.USE_TZ = use_tz
    forget_the_zone()
    connection.ensure_timezone()  # what Django does for a changed USE_TZ or TIME_ZONE: no new connection
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT date_joined FROM accounts_user WHERE id = %s", [alice.pk])
            (by_django,) = cursor.fetchone()
        (prepared,) = fetch_one_prepared(connection, "SELECT date_joined FROM accounts_user WHERE id = %s",
                                         [alice.pk])
        assert prepared == by_django
        assert prepared.tzinfo == by_django.tzinfo == connection.timezone
        assert (prepared.tzinfo is None) is (not use_tz)
    finally:
        connection.close()  # the next test connects with the settings restored
        forget_the_zone()


def test_one_client_object_serves_every_command(redis_client):
    assert cache._cache.get_client(write=True) is redis_client
    assert cache._cache.get_client("any key") is redis_client  # one server: reads go to it too


@pytest.fixture
def widened_transport_column():
    yield lambda: run_from_outside('ALTER TABLE sessions_app_session ALTER COLUMN transport TYPE varchar(9)')
    run_from_outside('ALTER TABLE sessions_app_session ALTER COLUMN transport TYPE varchar(8)')


def test_a_migration_under_a_prepared_lookup_costs_no_failed_request(alice, widened_name_column):
    """PostgreSQL refuses a prepared plan whose result type changed; the lookup runs again on a new
    connection instead of failing every request until the connection ages out."""
    tokens = open_session(alice)
    handler = WSGIHandler()
    me = RequestFactory().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens.access}")
    assert serve(handler, me)[0] == "200 OK"
    old_pid = connection.connection.info.backend_pid

    widened_name_column()

    assert serve(handler, me)[0] == "200 OK"
    assert connection.connection.info.backend_pid != old_pid
    assert serve(handler, me)[0] == "200 OK"


def test_a_migration_under_the_prepared_rotation_costs_no_failed_refresh(alice, widened_transport_column):
    tokens = open_session(alice)
    handler = WSGIHandler()

    def refresh(token):
        return RequestFactory().post("/api/auth/refresh/", {"refresh": token}, content_type="application/json")

    status, body = serve(handler, refresh(tokens.refresh))
    assert status == "200 OK"
    widened_transport_column()

    status, body = serve(handler, refresh(json.loads(body)["refresh"]))

    assert status == "200 OK", body
    status, _ = serve(handler, refresh(json.loads(body)["refresh"]))
    assert status == "200 OK"


def test_inside_a_transaction_the_error_stands_and_the_connection_is_replaced(alice, widened_name_column):
    from django.db import DatabaseError, transaction

    from sessions_app.selectors import user_for_live_session

    tokens = open_session(alice)
    session_id = str(tokens.session.id)
    assert user_for_live_session(user_id=str(alice.pk), session_id=session_id) is not None
    widened_name_column()

    with pytest.raises(DatabaseError), transaction.atomic():
        user_for_live_session(user_id=str(alice.pk), session_id=session_id)

    assert not connection.is_usable()
    connection.close_if_unusable_or_obsolete()
    assert user_for_live_session(user_id=str(alice.pk), session_id=session_id) is not None
