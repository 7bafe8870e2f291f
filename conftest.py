"""Fixtures every app's tests share. Importable helpers and constants are in authcore/testing.py."""
import os
import shutil

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
import pytest
from rest_framework.test import APIClient
import time_machine

from authcore.testing import CHROMIUM, CHROMIUM_ARGS, CLOCK_START, PASSWORD
from sessions_app.tokens import verified_tokens


def pytest_collection_modifyitems(config, items):
    on_postgres = connection.vendor == "postgresql"
    in_ci = os.environ.get("CI", "").lower() == "true"
    have_chromium = shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM)
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)"))
        # In CI a missing browser is a failure, not a skip (the fixture raises).
        if "browser" in item.keywords and not have_chromium and not in_ci:
            item.add_marker(pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache, verified access tokens in the process's own
    (sessions_app.tokens.verified_tokens); every test starts with neither."""
    cache.clear()
    verified_tokens.clear()
    yield
    cache.clear()
    verified_tokens.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db):
    def make(email: str = "alice@example.com", password: str | None = PASSWORD, verified: bool = True, **fields):
        if verified:
            fields.setdefault("email_verified_at", timezone.now())
        return get_user_model().objects.create_user(email, password, **fields)

    return make


@pytest.fixture
def user(make_user):
    return make_user()


@pytest.fixture
def alice(make_user):
    """A verified user without a password, for tests that open sessions through the services (no hashing)."""
    return make_user(password=None)


@pytest.fixture
def sessions(alice):
    """Two sessions of alice (say, a phone and a laptop), opened as a login opens them."""
    from sessions_app.tests.helpers import open_session

    return open_session(alice), open_session(alice)


@pytest.fixture
def bystander(make_user):
    """Another user's session, which nothing in a test about alice may touch."""
    from sessions_app.tests.helpers import open_session

    return open_session(make_user("bob@example.com", password=None))


@pytest.fixture
def clock():
    """Time stands still at CLOCK_START until the test moves it (clock.move_to / clock.shift)."""
    with time_machine.travel(CLOCK_START, tick=False) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def browser():
    """Real headless Chromium (Debian's package) driven by Playwright."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls our tests make from it are
    # still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
