"""One definition of a live session (models.ALIVE_CONDITIONS) serves the ORM filter, the check of a loaded
row and the hand-written SQL of the one-statement rotation: the three agree on every state a session can be
in, the boundaries included."""
from datetime import timedelta

from django.db import connection
from django.utils import timezone
import pytest

from sessions_app.models import Session, alive_session_sql

from .helpers import open_session

pytestmark = pytest.mark.django_db


def test_the_filter_the_row_check_and_the_sql_agree(alice):
    now = timezone.now()
    states = {
        "alive": {},
        "revoked": {"revoked_at": now - timedelta(minutes=1)},
        "past its absolute lifetime": {"expires_at": now - timedelta(seconds=1)},
        "at its absolute lifetime": {"expires_at": now},
        "idle too long": {"idle_expires_at": now - timedelta(seconds=1)},
        "at its idle deadline": {"idle_expires_at": now},
    }
    ids = {}
    for name, changes in states.items():
        session = open_session(alice).session
        Session.objects.filter(pk=session.pk).update(**changes)
        ids[name] = session.pk

    by_filter = set(Session.objects.alive(now).values_list("pk", flat=True))
    by_row = {session.pk for session in Session.objects.all() if session.is_alive(now)}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT s.id FROM {Session._meta.db_table} AS s WHERE {alive_session_sql('s', 'now')}",
                       {"now": now})
        by_sql = {Session._meta.pk.to_python(row[0]) for row in cursor.fetchall()}

    assert by_filter == by_row == by_sql == {ids["alive"]}
