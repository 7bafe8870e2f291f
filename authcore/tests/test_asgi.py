"""authcore.asgi: under ASGI a request's middleware and view run in one hop to a thread, that thread serves later
requests too, and requests in flight together still run on threads of their own. Driven through the handler's
ASGI interface, as a server calls it."""
import asyncio
import json
import threading

from asgiref.sync import AsyncToSync, SyncToAsync
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_started
from django.db import connection
import pytest

from authcore.asgi import THREADS_CAN_BE_REUSED, SynchronousChainASGIHandler
from sessions_app.tests.helpers import open_session

pytestmark = pytest.mark.django_db(transaction=True)  # the request's thread sees what the test committed


@pytest.fixture(autouse=True)
def connections_end_with_their_requests():
    """Without a pool, each request's thread keeps its connection for CONN_MAX_AGE: closed when the request ends
    (as a pool would take it back), none is left open on PostgreSQL after the test."""
    settings_dict = connection.settings_dict
    saved, settings_dict["CONN_MAX_AGE"] = settings_dict["CONN_MAX_AGE"], 0
    yield
    settings_dict["CONN_MAX_AGE"] = saved


def scope_for(path: str, token: str | None = None) -> dict:
    headers = [(b"host", b"testserver")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 40000), "server": ("testserver", 80)}


def run_loop(coroutine):
    """asyncio.run on a thread of its own, as a server's event loop runs: the browser tests leave an event loop
    running on the test's thread."""
    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # raised again below, on the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the event loop's work did not end within a minute"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


async def call(application, scope) -> tuple[int, bytes]:
    """One request as an ASGI server makes it: the body, then nothing until the answer has been sent."""
    messages, body_given = [], False
    answered = asyncio.Event()

    async def receive():
        nonlocal body_given
        if not body_given:
            body_given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    await application(scope, receive, send)
    return messages[0]["status"], b"".join(message.get("body", b"") for message in messages[1:])


@pytest.fixture
def hops(monkeypatch):
    """Counts the request's crossings from the event loop to a thread, and back."""
    counted = {"to_thread": 0, "to_loop": 0}
    to_thread, to_loop = SyncToAsync.__call__, AsyncToSync.__call__

    def counting_to_thread(self, *args, **kwargs):
        counted["to_thread"] += 1
        return to_thread(self, *args, **kwargs)

    def counting_to_loop(self, *args, **kwargs):
        counted["to_loop"] += 1
        return to_loop(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting_to_thread)
    monkeypatch.setattr(AsyncToSync, "__call__", counting_to_loop)
    return counted


@pytest.fixture
def request_threads():
    """The thread each request's synchronous work starts on (where Django's request_started receivers run)."""
    seen = []

    def record(**kwargs):
        seen.append(threading.current_thread())

    request_started.connect(record)
    yield seen
    request_started.disconnect(record)


def test_a_request_runs_its_middleware_and_view_in_one_hop(alice, hops):
    token = open_session(alice).access
    application = SynchronousChainASGIHandler()

    status, body = run_loop(call(application, scope_for("/api/auth/me/", token)))

    assert status == 200 and json.loads(body)["email"] == alice.email
    # The request_started signal, the chain with the view, and the answer's close (request_finished): three,
    # where Django's handler also crosses for the async-capable middleware at the chain's end and the view.
    assert hops == {"to_thread": 3, "to_loop": 0}
    hops.update(to_thread=0, to_loop=0)
    assert run_loop(call(ASGIHandler(), scope_for("/api/auth/me/", token)))[0] == 200
    assert hops["to_thread"] > 3 and hops["to_loop"] > 0


def test_an_error_answer_comes_through_with_its_envelope(db):
    status, body = run_loop(call(SynchronousChainASGIHandler(), scope_for("/api/auth/me/", "not-a-token")))

    assert status == 401
    assert json.loads(body)["code"] == "token_not_valid"


@pytest.mark.skipif(not THREADS_CAN_BE_REUSED, reason="asgiref before 3.13: a thread per request")
def test_requests_one_after_another_reuse_one_thread(alice, request_threads):
    token = open_session(alice).access
    application = SynchronousChainASGIHandler()

    async def three_in_turn():
        return [await call(application, scope_for("/api/auth/me/", token)) for _ in range(3)]

    assert [status for status, _ in run_loop(three_in_turn())] == [200, 200, 200]
    assert len(request_threads) == 3 and len(set(request_threads)) == 1


def test_requests_in_flight_together_run_on_threads_of_their_own(alice, request_threads):
    """Both requests must reach the barrier before either goes on: on one shared thread, the second could not."""
    token = open_session(alice).access
    application = SynchronousChainASGIHandler()
    both_started = threading.Barrier(2, timeout=10)

    def wait_for_the_other(**kwargs):
        both_started.wait()

    request_started.connect(wait_for_the_other)
    try:
        async def two_at_once():
            return await asyncio.gather(*(call(application, scope_for("/api/auth/me/", token)) for _ in range(2)))

        answers = run_loop(two_at_once())
    finally:
        request_started.disconnect(wait_for_the_other)

    assert [status for status, _ in answers] == [200, 200]
    assert len(set(request_threads)) == 2


def test_anything_but_http_is_refused_as_django_refuses_it():
    with pytest.raises(ValueError, match="HTTP"):
        run_loop(SynchronousChainASGIHandler()({"type": "websocket"}, None, None))


def cancel_a_request_then_ask_again(application, token: str, *, holding_a_connection=False) -> int:
    """The first request is held on its thread (in a request_started receiver, after taking its database
    connection if told) until the server has cancelled it; then a second request. Returns the second's status."""
    entered, release = threading.Event(), threading.Event()
    started = []

    def hold_the_first(**kwargs):
        started.append(True)
        if len(started) == 1:
            if holding_a_connection:
                connection.ensure_connection()
            entered.set()
            release.wait(10)

    request_started.connect(hold_the_first)
    try:
        async def cancel_one_then_ask_again():
            first = asyncio.create_task(call(application, scope_for("/api/auth/me/", token)))
            while not entered.is_set():
                await asyncio.sleep(0.01)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            release.set()
            return await call(application, scope_for("/api/auth/me/", token))

        status, _ = run_loop(cancel_one_then_ask_again())
    finally:
        release.set()
        request_started.disconnect(hold_the_first)
    return status


@pytest.mark.skipif(not THREADS_CAN_BE_REUSED, reason="asgiref before 3.13: a thread per request")
def test_a_request_the_server_cancels_gives_up_its_thread(alice, request_threads):
    """A server cancels a request at its shutdown's timeout while the request's view may still run on the thread:
    the next request must not queue behind it on that thread."""
    token = open_session(alice).access

    status = cancel_a_request_then_ask_again(SynchronousChainASGIHandler(), token)

    assert status == 200
    assert len(request_threads) == 2 and request_threads[0] is not request_threads[1]
