import os

from django.core.wsgi import get_wsgi_application

from authcore.serving import settle_after_start_up

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Serving processes give up on a statement after 15 s (503, never a hung worker); management commands, a
# long data migration say, have no limit unless DATABASE_STATEMENT_TIMEOUT_MS says so.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "15000")
application = get_wsgi_application()
# The start-up's objects out of the garbage collector's walks (authcore/serving.py).
settle_after_start_up()
