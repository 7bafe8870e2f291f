"""The cost of the cheap paths, in exact SQL statements: immediate revocation costs nothing extra per
request (docs/security.md 19), and a refresh is one statement on PostgreSQL (three elsewhere).

`transaction=True` so that what is counted is exactly what the connection sends in production: no test
SAVEPOINTs. (Django also logs BEGIN and COMMIT; a refresh on the happy path needs neither.)"""
from django.db import connection
import pytest

from authcore.testing import bearer

from .helpers import open_session, refresh


@pytest.fixture
def tokens(make_user):
    return open_session(make_user(password=None))


@pytest.mark.django_db
def test_authenticated_request_is_one_query_including_the_revocation_check(api, tokens, django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        response = api.get("/api/auth/me/", **bearer(tokens.access))
    assert response.status_code == 200
    # That one query is the user lookup joined to the token's live session.
    sql = captured.captured_queries[0]["sql"]
    assert '"sessions_app_session"' in sql and '"revoked_at" IS NULL' in sql


@pytest.mark.django_db
def test_a_rejected_token_costs_at_most_one_query(api, tokens, django_assert_max_num_queries):
    api.post("/api/auth/logout/", {"refresh": tokens.refresh})
    with django_assert_max_num_queries(1):
        assert api.get("/api/auth/me/", **bearer(tokens.access)).status_code == 401
    with django_assert_max_num_queries(0):
        assert api.get("/api/auth/me/", **bearer("garbage")).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_refresh_is_one_statement_on_postgresql_and_three_elsewhere(api, tokens, django_assert_num_queries):
    # Warm up: the first request after start-up may run one-off statements.
    current = refresh(api, tokens.refresh).json()["refresh"]
    expected = 1 if connection.vendor == "postgresql" else 3

    with django_assert_num_queries(expected) as captured:
        response = refresh(api, current)

    assert response.status_code == 200
    sqls = [query["sql"] for query in captured.captured_queries]
    if connection.vendor == "postgresql":
        # One round trip, one commit: find the token, compare-and-set its session, record the new token.
        assert sqls[0].lstrip().startswith("WITH presented AS")
        assert "UPDATE" in sqls[0] and "INSERT INTO" in sqls[0] and "current_token_hash = " in sqls[0]
    else:
        # Read the token with its session and user; compare-and-set the session; record the new token.
        assert [sql.split(None, 1)[0] for sql in sqls] == ["SELECT", "UPDATE", "INSERT"]
        assert '"current_token_hash" =' in sqls[1].split("WHERE", 1)[1]
