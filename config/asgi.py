import os

from authcore.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Serving processes give up on a statement after 15 s (503, never a hung worker); management commands, a
# long data migration say, have no limit unless DATABASE_STATEMENT_TIMEOUT_MS says so.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "15000")
# Each request's context opens its own connection under ASGI: closed at the request's end unless a pool
# (DATABASE_POOL_MAX_SIZE) lends them, instead of left open for DATABASE_CONN_MAX_AGE's 60 s.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
# A request's middleware and view in one crossing to a reused thread (authcore/asgi.py). Serve it with gunicorn's sync
# workers where you can (docs/how-to/deploy.md); under ASGI, give the database a pool (DATABASE_POOL_MAX_SIZE).
application = get_asgi_application()
