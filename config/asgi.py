import os

from authcore.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Serving processes give up on a statement after 15 s (503, never a hung worker); management commands, a
# long data migration say, have no limit unless DATABASE_STATEMENT_TIMEOUT_MS says so.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "15000")
# The service's requests in one hop to a reused thread each (authcore/asgi.py). Serve it with gunicorn's sync
# workers where you can (docs/how-to/deploy.md); under ASGI, give the database a pool (DATABASE_POOL_MAX_SIZE).
application = get_asgi_application()
