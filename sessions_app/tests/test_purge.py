"""`manage.py purge_sessions` deletes dead sessions (revoked, past the absolute lifetime, idle too long)
with their refresh tokens, in bounded batches; live sessions and the security events survive."""
from datetime import UTC, datetime, timedelta
import io

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
import pytest
import time_machine

from authcore.models import SecurityEvent
from sessions_app.models import RefreshToken, Session
from sessions_app.services import end_session

from .helpers import open_session, refresh

pytestmark = pytest.mark.django_db

START = datetime(2030, 6, 1, tzinfo=UTC)


def purge(*args) -> str:
    out = io.StringIO()
    call_command("purge_sessions", *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def population(api, make_user):
    """2 live sessions and 5 dead ones of every kind (idle, past the absolute lifetime, logged out,
    ended by reuse detection), made over a month."""
    alice, bob = make_user(password=None), make_user("bob@example.com", password=None)
    with time_machine.travel(START, tick=False) as clock:
        idle = [open_session(alice), open_session(bob)]  # never used again: idle after 7 days
        expired = open_session(alice)  # used every 5 days, but its 30 days run out at the end
        clock.shift(timedelta(days=1))
        logged_out = open_session(alice)
        end_session(session=logged_out.session, reason=Session.RevokeReason.LOGOUT)
        reused = open_session(bob)
        refresh(api, reused.refresh)
        refresh(api, reused.refresh)  # replay: the family is revoked
        live = [open_session(alice), open_session(bob)]
        current = [tokens.refresh for tokens in (*live, expired)]
        for _ in range(5):  # days 6, 11, 16, 21, 26: each session in use stays within its idle timeout
            clock.shift(timedelta(days=5))
            current = [refresh(api, raw).json()["refresh"] for raw in current]
    # 30 days and a second after START: `expired` is past its absolute lifetime, the live ones (opened a
    # day later) are not.
    with time_machine.travel(START + timedelta(days=30, seconds=1), tick=False):
        yield {"live": [t.session.id for t in live],
               "dead": [t.session.id for t in (*idle, expired, logged_out, reused)]}


def test_purge_deletes_dead_sessions_and_their_tokens_and_keeps_live_ones(population, api):
    live, dead = population["live"], population["dead"]
    assert all(Session.objects.get(pk=session_id).is_alive() for session_id in live)
    assert Session.objects.dead().count() == len(dead) == 5
    events_before = list(SecurityEvent.objects.values_list("pk", flat=True))
    assert events_before

    output = purge("--batch-size", "2")

    assert "Deleted 5 dead session(s)." in output
    assert set(Session.objects.values_list("pk", flat=True)) == set(live)
    assert not RefreshToken.objects.filter(session_id__in=dead).exists()
    assert RefreshToken.objects.filter(session_id__in=live).count() > len(live)  # their histories stay
    # The audit trail survives the purge, including events about the purged sessions.
    assert list(SecurityEvent.objects.values_list("pk", flat=True)) == events_before
    assert SecurityEvent.objects.filter(session_id__in=dead).exists()


def test_purge_works_in_batches(population):
    with CaptureQueriesContext(connection) as captured:
        purge("--batch-size", "2")
    session_deletes = [q["sql"] for q in captured.captured_queries if 'DELETE FROM "sessions_app_session"' in q["sql"]]
    # 5 dead sessions, 2 per batch: three DELETEs, never one that takes them all.
    assert len(session_deletes) == 3


def test_purge_default_batch_size_takes_all_at_once(population):
    with CaptureQueriesContext(connection) as captured:
        assert "Deleted 5" in purge()
    assert sum('DELETE FROM "sessions_app_session"' in q["sql"] for q in captured.captured_queries) == 1


def test_purge_with_nothing_to_do(db):
    assert "Deleted 0 dead session(s)." in purge()


def test_purge_refuses_a_batch_size_below_one(population):
    assert "--batch-size must be at least 1" in purge("--batch-size", "0")
    assert Session.objects.count() == 7


def test_purge_pauses_between_batches(population, monkeypatch):
    pauses = []
    monkeypatch.setattr("sessions_app.services.time.sleep", pauses.append)  # record instead of waiting

    assert "Deleted 5" in purge("--batch-size", "2", "--pause", "0.25")

    assert pauses == [0.25, 0.25]  # between the three batches
    assert "--pause must not be negative" in purge("--pause", "-1")


@pytest.mark.postgres
def test_on_postgresql_a_batch_is_one_statement_that_loads_no_row(population):
    """The dead sessions of a batch, their tokens and the sessions go in one statement; nothing is read into Python
    (the ORM's delete first loads every session of the batch as a model, to cascade)."""
    with CaptureQueriesContext(connection) as captured:
        assert "Deleted 5" in purge("--batch-size", "2")
    statements = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]  # the test's transaction
    batches = [sql for sql in statements if "doomed" in sql]
    assert len(batches) == 3  # three batches: the last, of one, says that nothing is left
    assert all(sql.lstrip().startswith("WITH doomed") and "SKIP LOCKED" in sql for sql in batches)
    assert len(statements) == 6 and statements.count("SET LOCAL synchronous_commit TO OFF") == 3
    assert RefreshToken.objects.filter(session_id__in=population["dead"]).count() == 0


@pytest.mark.postgres
def test_a_receiver_of_session_deletions_gets_the_orms_delete(population):
    """A host project listening to a session's deletion is heard: the one-statement batch would bypass it."""
    from django.db.models.signals import pre_delete

    heard = []

    def listener(sender, instance, **kwargs):
        heard.append(instance.pk)

    pre_delete.connect(listener, sender=Session)
    try:
        assert "Deleted 5" in purge()
    finally:
        pre_delete.disconnect(listener, sender=Session)
    assert sorted(heard) == sorted(population["dead"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dead_session_another_transaction_holds_is_skipped_not_waited_for(make_user):
    """A real second connection holds one dead session's row: the purge deletes the others at once and leaves that
    one for the next purge."""
    import threading

    user = make_user(password=None)
    ended = [open_session(user).session for _ in range(3)]
    for session in ended:
        end_session(session=session, reason=Session.RevokeReason.LOGOUT)
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold_the_first():
        from django.db import connection as own_connection
        from django.db import transaction

        try:
            with transaction.atomic():
                Session.objects.select_for_update().get(pk=ended[0].pk)
                held.set()
                release.wait(10)
        finally:
            own_connection.close()
            done.set()

    holder = threading.Thread(target=hold_the_first)
    holder.start()
    try:
        assert held.wait(10)
        assert "Deleted 2 dead session(s)." in purge()
        assert list(Session.objects.values_list("pk", flat=True)) == [ended[0].pk]
    finally:
        release.set()
        holder.join(10)
    assert "Deleted 1 dead session(s)." in purge()


@pytest.fixture
def refused_deletes(db):
    """A trigger that refuses the next `n` deletions of sessions with PostgreSQL's foreign-key error, as the race of a
    refresh committing a token for a session of the batch makes the purge's statement fail. The count is a
    sequence: a refused statement's rollback does not give it back."""
    table = connection.ops.quote_name(Session._meta.db_table)

    def refuse(n: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"""
                CREATE SEQUENCE purge_refusals;
                CREATE FUNCTION purge_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF nextval('purge_refusals') <= {int(n)} THEN
                        RAISE foreign_key_violation USING MESSAGE = 'a token of the batch came in meanwhile';
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER purge_refuse BEFORE DELETE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION purge_refuse();
            """)

    yield refuse
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS purge_refuse ON {table}; DROP FUNCTION IF EXISTS purge_refuse();"
                       " DROP SEQUENCE IF EXISTS purge_refusals;")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_refused_by_a_foreign_key_race_is_tried_again(make_user, refused_deletes):
    user = make_user(password=None)
    ended = [open_session(user).session for _ in range(3)]
    for session in ended:
        end_session(session=session, reason=Session.RevokeReason.LOGOUT)
    refused_deletes(2)  # the first two tries of the batch fail; the third goes through

    assert "Deleted 3 dead session(s)." in purge()
    assert not Session.objects.exists() and not RefreshToken.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_refused_every_time_fails_the_purge_instead_of_looping(make_user, refused_deletes):
    from django.db import IntegrityError

    user = make_user(password=None)
    end_session(session=open_session(user).session, reason=Session.RevokeReason.LOGOUT)
    refused_deletes(3)

    with pytest.raises(IntegrityError):
        purge()
    assert Session.objects.count() == 1  # nothing half-deleted: its tokens are still there too
    assert RefreshToken.objects.count() == 1


def test_by_default_a_purge_takes_small_batches_and_pauses_between_them(population, monkeypatch, settings):
    """Small batches with a pause between them: a purge beside live traffic (SESSIONS_APP PURGE_BATCH_SIZE and
    PURGE_PAUSE)."""
    pauses = []
    monkeypatch.setattr("sessions_app.services.time.sleep", pauses.append)
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "PURGE_BATCH_SIZE": 2}

    assert "Deleted 5" in purge()

    assert pauses == [0.02, 0.02]
    assert Session.objects.dead().count() == 0
