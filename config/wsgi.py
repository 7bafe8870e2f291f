import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Serving processes give up on a statement after 15 s (503, never a hung worker); management commands, a
# long data migration say, have no limit unless DATABASE_STATEMENT_TIMEOUT_MS says so.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "15000")
application = get_wsgi_application()
