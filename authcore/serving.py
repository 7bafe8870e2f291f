"""What a serving process does once, after loading the application and before its first request."""
import gc

from django.urls import get_resolver


def settle_after_start_up() -> None:
    """Load the URLconf (and with it every view) as the first request would, collect the start-up's garbage, then move
    every object alive now out of the cyclic garbage collector's reach (gc.freeze).

    Why, under ASGI: a request leaves objects in reference cycles (Django's and DRF's request and response point at
    each other), so the collector runs every few requests, and now and then a full collection walks every object of
    the process, the start-up's included: about 150,000 in this project, some 65 ms on the benchmark's machine,
    during which every request in flight in the process waits (the collector holds the interpreter lock). Frozen,
    those objects are no longer walked. Through uvicorn, GET me's p99 went from 74 to 25 ms in the benchmark (and
    was 76, 100 and 1290 ms without it, 25, 30 and 37 ms with it, in three alternating runs;
    docs/explanation/benchmark.md). Under gunicorn's sync workers, where a collection delays only the one request of
    its worker, the measurements disagreed on whether it helps, so config.wsgi does not call it.

    The cyclic collector never looks at the frozen objects again (reference counting still frees them): they are the
    modules, classes, settings and URL patterns a process keeps until it exits anyway, and the collection just before
    the freeze leaves no garbage cycle among them to leak."""
    get_resolver().url_patterns  # noqa: B018 (imports the URLconf, as the first request would)
    gc.collect()
    gc.freeze()
