"""No request hangs on the database: a serving process cancels a statement that waits too long (here a
refresh blocked by a row lock another connection holds) and answers 503 with the envelope; management
commands get no limit by default."""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.db import connection
import psycopg
import pytest

from sessions_app.tests.helpers import open_session

from .servers import ROOT, Server, project_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    database = settings.DATABASES["default"]
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"


def test_a_blocked_statement_is_cancelled_and_answered_with_503(alice):
    tokens = open_session(alice)
    server = Server(project_env(
        JWT_SIGNING_KEY=settings.SIMPLE_JWT["SIGNING_KEY"], JWT_AUDIENCE=settings.SIMPLE_JWT["AUDIENCE"],
        JWT_ISSUER=settings.SIMPLE_JWT["ISSUER"], DATABASE_URL=database_url(), RATELIMIT_ENABLE="false",
        DATABASE_STATEMENT_TIMEOUT_MS="1000"))
    base = server.url
    try:
        settings_dict = connection.settings_dict
        with psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"] or 5432,
                             user=settings_dict["USER"], dbname=settings_dict["NAME"]) as holder:
            holder.execute("SELECT 1 FROM sessions_app_session WHERE id = %s FOR UPDATE", [tokens.session.id])
            request = urllib.request.Request(f"{base}/api/auth/refresh/", method="POST",
                                             data=json.dumps({"refresh": tokens.refresh}).encode(),
                                             headers={"Content-Type": "application/json"})
            began = time.monotonic()
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=30)
            waited = time.monotonic() - began
            holder.rollback()
        assert refused.value.code == 503
        assert json.loads(refused.value.read())["code"] == "service_unavailable"
        assert 0.9 < waited < 5
    finally:
        server.stop()


def test_commands_have_no_statement_limit_unless_asked():
    script = ("import django; django.setup(); from django.db import connection; c = connection.cursor(); "
              "c.execute('SHOW statement_timeout'); print(c.fetchone()[0])")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true",
           "DATABASE_URL": database_url(), "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_STATEMENT_TIMEOUT_MS", None)
    shown = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    assert shown == "0"
    env["DATABASE_STATEMENT_TIMEOUT_MS"] = "2500"
    shown = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    assert shown == "2500ms"


def test_the_timeout_is_added_to_the_options_the_database_url_gives():
    script = "from config import settings as s; print(s.DATABASES['default']['OPTIONS']['options'])"
    env = {**os.environ, "DEBUG": "true", "DATABASE_STATEMENT_TIMEOUT_MS": "1000",
           "DATABASE_URL": database_url() + "?options=-c%20search_path%3Dauth"}
    shown = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    assert shown == "-c search_path=auth -c statement_timeout=1000"
