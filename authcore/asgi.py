"""Serving the service under ASGI (uvicorn, granian's ASGI mode, daphne) at closer to the cost of a WSGI worker.

Every view and middleware of the apps is synchronous. Django's ASGI handler runs such a request by going back
and forth between the event loop and a thread: into the chain, out again to the async-capable middleware at
its end and into the thread once more for each of their steps and for the view (about eight crossings a
request with this project's middleware), and it starts a thread for every request and joins it at the end.
Here the chain is built for synchronous calls and runs, with the view, in one crossing; with the request_started
signal and the answer's close, three a request. The thread is one that earlier requests used.

A host project whose own views or middleware are async still works (Django calls an async view from the
synchronous chain through async_to_sync), but those gain nothing from ASGI here; give them Django's own handler.
Give the database a pool (Django's OPTIONS["pool"]; DATABASE_POOL_MAX_SIZE in this repository's settings), or
CONN_MAX_AGE 0. Django's connections are the thread's: with a persistent setting, every thread kept here (up to
KEEP_IDLE_THREADS, and more while more requests run at once) would keep a connection of its own open.
"""
from concurrent.futures import ThreadPoolExecutor
import inspect

from asgiref.sync import ThreadSensitiveContext, sync_to_async
import django
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

# asgiref 3.13 lets a request's context run on a thread the caller owns; with an older one, each request gets
# a new thread, as with Django's own handler.
THREADS_CAN_BE_REUSED = "executor" in inspect.signature(ThreadSensitiveContext).parameters


class SynchronousChainASGIHandler(ASGIHandler):
    """Django's ASGI handler, with the middleware chain built for synchronous calls and run with the view in one
    crossing to the request's thread. The thread is the request's alone while it runs (everything the request
    runs synchronously runs there, its database connection included), and the answer is still sent from the
    event loop."""

    # Threads kept for later requests once theirs have ended; more are started while more requests run at once.
    KEEP_IDLE_THREADS = 64

    def __init__(self):
        super().__init__()
        self._idle_threads: list[ThreadPoolExecutor] = []  # list.pop and append are atomic: no lock

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not THREADS_CAN_BE_REUSED:
            return await super().__call__(scope, receive, send)  # (which refuses anything but HTTP)
        # Starting a thread and joining it at the end was about a fifth of a GET me under uvicorn.
        try:
            thread = self._idle_threads.pop()
        except IndexError:
            thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        except BaseException:
            # Cancelled by the server (a shutdown's timeout, daphne's after a disconnect) or failed: the request's
            # view may still be running on the thread. It ends there, and no later request waits behind it. Its
            # database connection, which the request's end would have handed back, is handed back after it, on
            # the same thread (Django's connections are the thread's): a pool would count it lent for ever.
            thread.submit(connections.close_all)
            thread.shutdown(wait=False)
            raise
        # handle() returned: everything the request ran on the thread has ended (its last step, the answer's
        # close, waits behind a view that a client's disconnect abandoned).
        if len(self._idle_threads) < self.KEEP_IDLE_THREADS:
            self._idle_threads.append(thread)
        else:
            thread.shutdown(wait=False)


def get_asgi_application() -> SynchronousChainASGIHandler:
    """In place of django.core.asgi.get_asgi_application, in a project's asgi.py."""
    django.setup(set_prefix=False)
    return SynchronousChainASGIHandler()
