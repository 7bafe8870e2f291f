"""Fixtures of the whole-service tests."""
import pytest


@pytest.fixture
def account(transactional_db, make_user, settings):
    """The signed-in user of schemathesis's generated requests. schemathesis calls the WSGI application
    itself, so Django closes the database connection at the end of each request as it does in production:
    these tests cannot run inside one rolled-back transaction."""
    settings.RATELIMIT_ENABLE = False  # a 429 would hide the answer the tests judge
    return make_user(email="schema.owner@example.com", password=None)
