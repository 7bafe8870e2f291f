"""What a serving process does once, after loading the application and before its first request."""
import gc

from django.urls import get_resolver


def settle_after_start_up() -> None:
    """Load the URLconf (and with it every view) as the first request would, collect the start-up's garbage, then move
    every object alive now out of the cyclic garbage collector's reach (gc.freeze).

    Why: a request leaves objects in reference cycles (Django's and DRF's request and response point at each other),
    so the collector runs every few requests, and now and then a full collection walks every object of the process,
    the start-up's included: about 150,000 in this project, some 65 ms of one request's time on the benchmark's
    machine. Frozen, those objects are no longer walked; each collection walks only what requests made since.
    Measured through gunicorn in docs/explanation/benchmark.md.

    The frozen objects are never freed: they are the modules, classes, settings and URL patterns a process keeps until
    it exits anyway, and the collection just before the freeze leaves no garbage among them. Under gunicorn's
    --preload, the master freezes before it forks, so the workers also stop writing to the pages they share with it."""
    get_resolver().url_patterns  # noqa: B018 (imports the URLconf, as the first request would)
    gc.collect()
    gc.freeze()
