"""What each middleware of the project costs a JSON API request, in process.

    .venv/bin/python bench/middleware_costs.py            # the project's settings, 20,000 requests per middleware
    .venv/bin/python bench/middleware_costs.py --requests 50000 --runs 7

For every entry of settings.MIDDLEWARE, in order: that middleware alone around a view that answers a small JSON
body at once, fed requests like the benchmark's GET me (`/api/auth/me/`, a bearer token, `Accept: */*`, no
Origin, no cookie), each request built beforehand so only the middleware's work is timed. The cost is the
thread's CPU time per request (`time.thread_time`, which a busy machine disturbs less than the clock) less that of
the bare view, the median of `--runs` runs. No database, no network: the view is not the project's, only what the
middleware does to a request and its answer is measured. Writes nothing; prints a Markdown table.

The settings are those of the environment, as for `manage.py`: without any, the embedded development defaults
(DEBUG on, so no HSTS header, say). Run it with a deployment's variables to measure that deployment's middleware.

Middleware that a JSON request goes past (config.middleware.SkippedByTheAPI) show what going past costs; the
health check answers only its own paths. Together they are not the sum of a real chain's cost exactly (a real
chain also pays Django's wrapper between layers, about a microsecond each), but they say which ones are worth
looking at.
"""
import argparse
import os
from pathlib import Path
import statistics
import sys
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="requests per run")
    parser.add_argument("--runs", type=int, default=5, help="runs per middleware; the median is reported")
    parser.add_argument("--path", default="/api/auth/me/", help="the request's path")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ENV_FILE", "")
    os.environ.setdefault("DEBUG", "true")  # the embedded defaults; no secrets needed, nothing served
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.exception import convert_exception_to_response
    from django.http import JsonResponse
    from django.test import RequestFactory
    from django.utils.module_loading import import_string

    factory = RequestFactory()

    def requests():
        return [factory.get(args.path, HTTP_AUTHORIZATION="Bearer x" * 40, HTTP_ACCEPT="*/*",
                            HTTP_USER_AGENT="wrk", SERVER_NAME="localhost") for _ in range(args.requests)]

    def view(request):
        return JsonResponse({"id": "5f0c", "email": "someone@example.com"})

    def timed(handler) -> float:
        samples = []
        for _ in range(args.runs):
            batch = requests()
            started = time.thread_time()
            for request in batch:
                handler(request)
            samples.append((time.thread_time() - started) / len(batch) * 1e6)
        return statistics.median(samples)

    bare = timed(view)
    rows = []
    for dotted in settings.MIDDLEWARE:
        handler = convert_exception_to_response(import_string(dotted)(convert_exception_to_response(view)))
        rows.append((dotted, timed(handler) - bare))
    print(f"Per request, µs of thread CPU beyond a bare view ({bare:.1f} µs), median of {args.runs} runs of "
          f"{args.requests} `GET {args.path}`:\n")
    print("| middleware | µs |\n|---|---:|")
    for dotted, cost in rows:
        print(f"| `{dotted}` | {cost:.1f} |")
    print(f"| all of them, summed | {sum(cost for _, cost in rows):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
