import os

from authcore.asgi import get_asgi_application
from authcore.serving import settle_after_start_up

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Serving processes give up on a statement after 15 s (503, never a hung worker); management commands, a
# long data migration say, have no limit unless DATABASE_STATEMENT_TIMEOUT_MS says so.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "15000")
# Django's connections are the thread's, and under ASGI there are as many threads as requests in flight (64 kept
# per worker): each request's connection is closed at its end, or handed back to the pool (DATABASE_POOL_MAX_SIZE),
# instead of kept open on its thread for DATABASE_CONN_MAX_AGE's 60 s.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
# A request's middleware and view in one crossing to a reused thread (authcore/asgi.py). Serve it with gunicorn's sync
# workers where you can (docs/how-to/deploy.md); under ASGI, give the database a pool (DATABASE_POOL_MAX_SIZE).
application = get_asgi_application()
# The start-up's objects out of the garbage collector's walks (authcore/serving.py).
settle_after_start_up()
