"""/healthz and /readyz (config/health.py): cheap, unauthenticated, answered whatever the Host header and
over plain HTTP, no secrets in the body; /readyz says 503 when the database or the cache is unreachable or
a migration is pending. The failing cases run the service as a real gunicorn process against a database
server that is not there and a database that was never migrated."""
import os
import subprocess
import time

from django.conf import settings
from django.test import override_settings
import pytest

from .servers import Server, fetch, project_env

pytestmark = pytest.mark.django_db



def test_healthz_answers_any_host_over_plain_http(client):
    with override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["auth.example.com"]):
        response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_reports_each_check(client):
    response = client.get("/readyz", HTTP_HOST="10.1.2.3")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok",
                               "checks": {"database": "ok", "migrations": "ok", "cache": "ok"}}


def test_readyz_is_503_when_the_cache_is_unreachable(client):
    unreachable = {"default": {"BACKEND": "authcore.backends.redis_cache.RedisCache",
                               "LOCATION": "redis://127.0.0.1:1/0",
                               "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    with override_settings(CACHES=unreachable):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable",
                               "checks": {"database": "ok", "migrations": "ok", "cache": "unavailable"}}


def test_other_methods_and_paths_are_not_health_checks(client):
    assert client.post("/healthz").status_code == 404
    assert client.get("/healthz/extra").status_code == 404


def get(url: str) -> tuple[int, str]:
    status, _, body = fetch(url)
    return status, body


@pytest.fixture
def server():
    started = []

    def start(database_url):
        started.append(Server(project_env(DATABASE_URL=database_url, DATABASE_CONNECT_TIMEOUT="2",
                                          SECURE_SSL_REDIRECT="true", ALLOWED_HOSTS="auth.example.com")))
        return started[-1].url

    yield start
    for running in started:
        running.stop()


def test_with_the_database_unreachable_healthz_is_up_and_readyz_says_so(server):
    base = server("postgres://postgres@127.0.0.1:1/nowhere")

    assert get(f"{base}/healthz") == (200, '{"status": "ok"}')
    began = time.monotonic()
    status, body = get(f"{base}/readyz")
    assert status == 503 and '"database": "unavailable"' in body, body
    assert time.monotonic() - began < 5
    assert "127.0.0.1" not in body and "nowhere" not in body


@pytest.mark.postgres
def test_a_database_with_pending_migrations_is_not_ready(server):
    database = f"health_unmigrated_{os.getpid()}"
    host, port = settings.DATABASES["default"]["HOST"], settings.DATABASES["default"]["PORT"] or 5432
    user = settings.DATABASES["default"]["USER"]
    subprocess.run(["createdb", "-h", host, "-p", str(port), "-U", user, database], check=True)
    try:
        base = server(f"postgres://{user}@{host}:{port}/{database}")
        status, body = get(f"{base}/readyz")
        assert status == 503 and '"migrations": "pending"' in body and '"database": "ok"' in body, body
    finally:
        subprocess.run(["dropdb", "-h", host, "-p", str(port), "-U", user, "--force", database], check=True)
