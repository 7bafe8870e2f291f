"""Fixtures of the whole-service tests."""
import importlib.util
from pathlib import Path
import sys

from django.db import connection
import psycopg
import pytest


@pytest.fixture
def account(transactional_db, make_user, settings):
    """The signed-in user of schemathesis's generated requests. schemathesis calls the WSGI application
    itself, so Django closes the database connection at the end of each request as it does in production:
    these tests cannot run inside one rolled-back transaction."""
    settings.RATELIMIT_ENABLE = False  # a 429 would hide the answer the tests judge
    return make_user(email="schema.owner@example.com", password=None)


def run_from_outside(statement: str, params=()) -> None:
    """A statement sent by another client while the service serves: an operator, a migration."""
    settings_dict = connection.settings_dict
    with psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"] or 5432,
                         user=settings_dict["USER"], dbname=settings_dict["NAME"], autocommit=True) as other:
        other.execute(statement, params)


def terminate_from_outside(pid: int) -> None:
    """End a backend the way a restart or an operator would."""
    run_from_outside("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture
def widened_name_column():
    yield lambda: run_from_outside('ALTER TABLE accounts_user ALTER COLUMN name TYPE varchar(151)')
    run_from_outside('ALTER TABLE accounts_user ALTER COLUMN name TYPE varchar(150)')


@pytest.fixture(scope="module")
def bench_run():
    """bench/run.py, loaded as a module (it is a script, not a package)."""
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "bench"))  # as when it runs as a script: its neighbour project_tasks
    try:
        spec = importlib.util.spec_from_file_location("bench_run", root / "bench" / "run.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(root / "bench"))
