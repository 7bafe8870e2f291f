"""Refresh tokens are stored only as hashes (docs/security.md 20): after logins and refreshes, no raw refresh
token (and no access token) appears anywhere in the database, whichever way it is read."""
import io

from django.core.management import call_command
from django.db import connection
import pytest

from accounts.testing import login
from sessions_app.models import RefreshToken, Session

from .helpers import refresh, sha256

pytestmark = pytest.mark.django_db


def every_row_as_text() -> str:
    """Every row of every table, read with raw SQL (including tables no model serialises)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.append(f"{table}: {cursor.fetchall()!r}")
    return "\n".join(chunks)


def dumpdata() -> str:
    buffer = io.StringIO()
    call_command("dumpdata", stdout=buffer)
    return buffer.getvalue()


def test_no_raw_token_is_stored_anywhere(api, make_user):
    make_user()
    issued_refresh, issued_access = [], []
    for _ in range(2):
        pair = login(api)
        issued_refresh.append(pair["refresh"])
        issued_access.append(pair["access"])
        for _ in range(2):
            pair = refresh(api, pair["refresh"]).json()
            issued_refresh.append(pair["refresh"])
            issued_access.append(pair["access"])
    api.post("/api/auth/logout/", {"refresh": issued_refresh[-1]})
    assert RefreshToken.objects.count() == len(issued_refresh) == 6

    stored = dumpdata() + "\n" + every_row_as_text()

    assert "sessions_app.refreshtoken" in stored and "sessions_app_session" in stored  # we did read them
    for raw in issued_refresh + issued_access:
        assert raw not in stored
    # Access tokens are not stored in pieces either (their signatures and payloads are unique strings).
    for access in issued_access:
        header, payload, signature = access.split(".")
        assert payload not in stored and signature not in stored
    # What is stored is the SHA-256 of each refresh token.
    assert set(RefreshToken.objects.values_list("token_hash", flat=True)) == {sha256(raw) for raw in issued_refresh}
    currents = set(Session.objects.values_list("current_token_hash", flat=True))
    assert currents <= {sha256(raw) for raw in issued_refresh}
