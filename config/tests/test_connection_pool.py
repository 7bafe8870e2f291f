"""The connection pool (DATABASE_POOL_MAX_SIZE; Django's pool with psycopg_pool, under this project's backend):
requests on different threads share its connections, a request that finds them all lent answers 503, a loan
sends nothing before the request's own statements, and a connection the server closed, or whose prepared
statements went stale, is never lent again."""
import json
import os
import tempfile
import threading
import time

from django.core.handlers.wsgi import WSGIHandler
from django.db import DatabaseError, connection, connections, transaction
from django.test import RequestFactory
import pytest

from authcore.backends.postgresql.base import idle_connection_is_sound
from sessions_app.selectors import user_for_live_session
from sessions_app.tests.helpers import open_session

from .conftest import terminate_from_outside
from .test_cookie_settings_env import DEVELOPMENT
from .test_dev_env import manage
from .test_wire_counts import PostgresTrace

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pooled():
    """Turns the pool on for the test's connection settings (every thread's), as DATABASE_POOL_MAX_SIZE does."""
    settings_dict = connection.settings_dict
    saved = settings_dict["CONN_MAX_AGE"], settings_dict["CONN_HEALTH_CHECKS"]
    connection.close()

    def configure(max_size=1, timeout=5.0):
        settings_dict.update(CONN_MAX_AGE=0, CONN_HEALTH_CHECKS=False)
        settings_dict["OPTIONS"]["pool"] = {"min_size": 1, "max_size": max_size, "timeout": timeout}
        return connection.pool

    yield configure
    connection.close()
    connection.close_pool()
    settings_dict["OPTIONS"].pop("pool", None)
    settings_dict["CONN_MAX_AGE"], settings_dict["CONN_HEALTH_CHECKS"] = saved


def me_request(user):
    tokens = open_session(user)
    connection.close()  # the test's own thread hands its connection back, as a request does when it ends
    return RequestFactory().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens.access}")


def serve(handler, request):
    """As a WSGI server does: the answer's close() ends the request, and hands its connection back."""
    status = {}
    answer = handler(request.environ, lambda value, headers: status.update(value=value))
    try:
        body = b"".join(answer)
    finally:
        answer.close()
    return status["value"], body


def serve_in_a_new_thread(handler, request):
    answer = {}
    thread = threading.Thread(target=lambda: answer.update(result=serve(handler, request)))
    thread.start()
    thread.join(30)
    return answer["result"]


def lent_backend_pid(pool) -> int:
    with pool.connection() as pooled_connection:
        return pooled_connection.info.backend_pid


def test_requests_on_different_threads_share_one_connection(alice, pooled):
    pool = pooled(max_size=1, timeout=3)
    handler, me = WSGIHandler(), me_request(alice)

    for _ in range(3):  # each on a thread of its own, as ASGI runs them
        assert serve_in_a_new_thread(handler, me)[0] == "200 OK"

    # One connection opened for the three: each request handed it back when it ended.
    assert pool.get_stats()["connections_num"] == 1
    assert connection.connection is None  # the test's own thread holds none between requests either


def test_a_request_that_finds_every_connection_lent_answers_503(alice, pooled):
    pool = pooled(max_size=1, timeout=0.3)
    handler, me = WSGIHandler(), me_request(alice)
    held = pool.getconn()
    try:
        status, body = serve_in_a_new_thread(handler, me)
    finally:
        pool.putconn(held)

    assert status.startswith("503")
    assert json.loads(body)["code"] == "service_unavailable"
    assert serve_in_a_new_thread(handler, me)[0] == "200 OK"  # handed back, it serves again


def traced_request(pool, handler, request) -> tuple[str, list[str]]:
    """One request, with libpq's trace on the pool's only connection from before its loan to after its return."""
    descriptor, path = tempfile.mkstemp()
    with pool.connection() as only:  # a loan in autocommit, left idle: sends nothing
        only.pgconn.trace(descriptor)
    try:
        status = serve(handler, request)[0]
    finally:
        with pool.connection() as only:
            only.pgconn.untrace()
        os.close(descriptor)
    with open(path) as trace:
        lines = trace.readlines()
    os.unlink(path)
    return status, lines


def test_a_loan_sends_nothing_before_the_requests_own_statement(alice, pooled):
    """psycopg_pool's check (Django's, with CONN_HEALTH_CHECKS) would send an empty query on every loan; the
    backend reads the socket instead."""
    pool = pooled(max_size=1)
    pool.open(wait=True)
    handler, me, trace = WSGIHandler(), me_request(alice), PostgresTrace()
    status, first = traced_request(pool, handler, me)  # prepares the lookup on the connection
    assert status == "200 OK"
    trace.read(first)

    status, second = traced_request(pool, handler, me)

    assert status == "200 OK"
    statements, round_trips = trace.read(second)
    assert round_trips == 1, statements
    assert len(statements) == 1 and statements[0].startswith('SELECT "accounts_user"')


def test_a_connection_the_server_closed_in_the_pool_is_never_lent(alice, pooled):
    pool = pooled(max_size=2)
    handler, me = WSGIHandler(), me_request(alice)
    assert serve(handler, me)[0] == "200 OK"
    with pool.connection() as idle:
        old_pid = idle.info.backend_pid
    terminate_from_outside(old_pid)
    deadline = time.monotonic() + 5
    while idle_connection_is_sound(idle) and time.monotonic() < deadline:  # the server's notice on its way
        time.sleep(0.01)

    for _ in range(4):
        assert serve(handler, me)[0] == "200 OK"

    assert lent_backend_pid(pool) != old_pid


def serve_holding_another_connection(pool, handler, request) -> str:
    """A request served while the test holds the pool's first idle connection: the request gets the next."""
    held = pool.getconn()
    try:
        return serve(handler, request)[0]
    finally:
        pool.putconn(held)


def test_a_migration_under_a_pooled_prepared_lookup_costs_no_failed_request(alice, pooled, widened_name_column):
    """Both connections of the pool have the lookup prepared when the column changes. Outside a transaction the
    lookup runs again on another connection, and the pool replaces the others too: a retry on the second stale
    connection would fail the request."""
    pool = pooled(max_size=2)
    handler, me = WSGIHandler(), me_request(alice)
    for _ in range(2):  # the lookup prepared on each connection in turn (the pool lends the longest idle first)
        assert serve_holding_another_connection(pool, handler, me) == "200 OK"
    old_pids = both_backends(pool, prepared=True)

    widened_name_column()

    for _ in range(3):
        assert serve(handler, me)[0] == "200 OK"
    assert not both_backends(pool) & old_pids


# A fixed statement whose result type the widened column changes, as the live-session lookup's does.
NAME_OF_USER = "SELECT name FROM accounts_user WHERE id = %s"


def test_requests_in_flight_during_a_migration_drain_the_pool_once(alice, pooled, widened_name_column):
    """Two requests hold connections with the statement prepared when the column changes. The first to run it
    drains the pool and goes on with a fresh connection; the second, whose connection that drain already
    condemned, does not drain again, so the fresh connection the first handed back is the one it goes on with
    (a second drain would have closed it)."""
    pooled(max_size=2)  # no room to grow: the fresh connection the first hands back is the only one idle
    first, second = connections.create_connection("default"), connections.create_connection("default")
    try:
        for each in (first, second):  # each borrows its own connection, and keeps it until close()
            assert each.fetch_one_prepared(NAME_OF_USER, [alice.pk]) == (alice.name,)
        condemned = {first.connection.info.backend_pid, second.connection.info.backend_pid}

        widened_name_column()

        assert first.fetch_one_prepared(NAME_OF_USER, [alice.pk]) == (alice.name,)
        fresh = first.connection.info.backend_pid
        assert fresh not in condemned
        first.close()  # the first request ends: its fresh connection goes back to the pool

        assert second.fetch_one_prepared(NAME_OF_USER, [alice.pk]) == (alice.name,)
        assert second.connection.info.backend_pid == fresh
    finally:
        first.close()
        second.close()


def both_backends(pool, prepared=False) -> set[int]:
    first, second = pool.getconn(), pool.getconn()
    try:
        if prepared:
            for each in (first, second):
                assert each.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] >= 1
        return {first.info.backend_pid, second.info.backend_pid}
    finally:
        pool.putconn(first)
        pool.putconn(second)


def test_asgi_requests_borrow_and_hand_back_the_pools_connection(alice, pooled):
    from authcore.asgi import SynchronousChainASGIHandler
    from authcore.tests.test_asgi import call, run_loop, scope_for

    pool = pooled(max_size=1, timeout=3)
    token = open_session(alice).access
    connection.close()
    application = SynchronousChainASGIHandler()

    async def three_in_turn():
        return [await call(application, scope_for("/api/auth/me/", token)) for _ in range(3)]

    assert [status for status, _ in run_loop(three_in_turn())] == [200, 200, 200]
    stats = pool.get_stats()
    assert stats["connections_num"] == 1 and stats["pool_available"] == 1  # one connection, back in the pool


def test_inside_a_transaction_the_stale_pooled_connection_is_discarded_when_it_goes_back(alice, pooled,
                                                                                           widened_name_column):
    pool = pooled(max_size=1)
    session_id = str(open_session(alice).session.id)
    assert user_for_live_session(user_id=str(alice.pk), session_id=session_id) is not None
    old_pid = connection.connection.info.backend_pid
    widened_name_column()

    with pytest.raises(DatabaseError), transaction.atomic():
        user_for_live_session(user_id=str(alice.pk), session_id=session_id)
    connection.close()  # the request's end

    assert lent_backend_pid(pool) != old_pid
    assert user_for_live_session(user_id=str(alice.pk), session_id=session_id) is not None


SHOW_DATABASE = ("import json; from django.db import connection as c; d = c.settings_dict; print(json.dumps({"
                 "'max_age': d['CONN_MAX_AGE'], 'checks': d['CONN_HEALTH_CHECKS'], 'pool': d['OPTIONS'].get('pool')}))")


def database_settings(**env) -> dict:
    result = manage("shell", "-c", SHOW_DATABASE,
                    **{**DEVELOPMENT, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_pool_is_off_unless_the_environment_sizes_it():
    assert database_settings() == {"max_age": 60, "checks": True, "pool": None}
    assert database_settings(DATABASE_POOL_MAX_SIZE="8", DATABASE_POOL_TIMEOUT="2.5") == {
        "max_age": 0, "checks": False, "pool": {"min_size": 2, "max_size": 8, "timeout": 2.5}}
    assert database_settings(DATABASE_POOL_MAX_SIZE="1")["pool"]["min_size"] == 1


def test_a_cancelled_asgi_request_hands_its_connection_back(alice, pooled):
    """The server cancels a request that holds the pool's only connection; the request's end, which would have
    handed it back, never runs. Lent for ever, it would leave the next request waiting until a 503."""
    from authcore.asgi import THREADS_CAN_BE_REUSED, SynchronousChainASGIHandler
    from authcore.tests.test_asgi import cancel_a_request_then_ask_again

    if not THREADS_CAN_BE_REUSED:
        pytest.skip("asgiref before 3.13: Django's own handler")
    pool = pooled(max_size=1, timeout=2)
    token = open_session(alice).access
    connection.close()

    status = cancel_a_request_then_ask_again(SynchronousChainASGIHandler(), token, holding_a_connection=True)

    assert status == 200
    assert pool.get_stats()["connections_num"] == 1
