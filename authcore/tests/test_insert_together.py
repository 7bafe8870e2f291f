"""authcore.backends.insert_together: rows stored as save(force_insert=True) stores them, in one statement on
PostgreSQL (all or none), one INSERT each elsewhere."""
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
import pytest

from authcore.audit import security_event
from authcore.backends import insert_together
from authcore.models import SecurityEvent
from sessions_app.models import RefreshToken, Session
from sessions_app.tests.helpers import CLIENT, open_session

pytestmark = pytest.mark.django_db


def _rows(user, token_hash: str = "a" * 64):
    now = timezone.now()
    session = Session(user=user, created_at=now, last_used_at=now, expires_at=now, idle_expires_at=now,
                      ip_address="192.0.2.1", user_agent="agent", current_token_hash=token_hash)
    token = RefreshToken(session=session, token_hash=token_hash, created_at=now)
    event = security_event("authn_login_success", user=user, client=CLIENT, session_id=session.id, methods=["pwd"])
    return session, token, event


def test_the_rows_are_stored_with_their_keys_and_defaults(alice):
    session, token, event = _rows(alice)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        insert_together(connection, session, token, event)
    writes = [query["sql"] for query in queries if query["sql"].startswith(("INSERT", "WITH"))]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 3)
    # The keys the database made are read back, as save() reads them; the rows are no longer new.
    assert token.pk is not None and event.pk is not None
    assert not any(row._state.adding for row in (session, token, event))
    assert RefreshToken.objects.get(pk=token.pk).session_id == session.id
    stored = SecurityEvent.objects.get(pk=event.pk)
    assert (stored.kind, stored.user_id, stored.session_id, stored.details, stored.ip_address) == (
        "authn_login_success", alice.pk, session.id, {"methods": ["pwd"]}, CLIENT.ip_address)
    assert Session.objects.get(pk=session.id).device == ""  # a field left to its default


@pytest.mark.django_db(transaction=True)
def test_all_or_none(alice):
    taken = open_session(alice)
    session, token, event = _rows(alice, token_hash=taken.session.current_token_hash)  # a token hash in use
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_together(connection, session, token, event)
    assert not Session.objects.filter(pk=session.pk).exists()
    assert not SecurityEvent.objects.filter(session_id=session.pk).exists()


def test_one_row_is_a_plain_save(alice):
    event = security_event("authn_login_success", user=alice, client=CLIENT)
    with CaptureQueriesContext(connection) as queries:
        insert_together(connection, event)
    assert len(queries) == 1 and SecurityEvent.objects.filter(pk=event.pk).exists()


def test_a_value_that_is_an_expression_is_saved_row_by_row(alice):
    """The fixed statement binds plain values only; an expression (the database's clock, say) goes through save()."""
    from django.db.models.functions import Now

    session, token, event = _rows(alice)
    event.created_at = Now()
    with transaction.atomic():
        insert_together(connection, session, token, event)
    assert SecurityEvent.objects.get(pk=event.pk).created_at is not None
    assert RefreshToken.objects.filter(pk=token.pk, session_id=session.id).exists()


def test_the_statement_is_the_same_for_every_call_of_one_shape(alice):
    """Built once per sequence of models (and prepared once per connection on PostgreSQL): only the values differ."""
    texts = []
    for letter in "bc":
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            insert_together(connection, *_rows(alice, token_hash=letter * 64))
        texts.append([query["sql"] for query in queries if query["sql"].startswith(("INSERT", "WITH"))])
    if connection.vendor == "postgresql":
        first, second = texts[0][0], texts[1][0]
        # The logged text has the values in it; the statement is the same but for them.
        assert first.replace("b" * 64, "") != first and first.split(" VALUES ")[0] == second.split(" VALUES ")[0]
    assert RefreshToken.objects.filter(token_hash__in=["b" * 64, "c" * 64]).count() == 2


def test_a_model_with_a_save_receiver_is_saved_row_by_row(alice):
    """A receiver of post_save (a host project forwarding audit records, say) hears of every row, as with save()."""
    from django.db.models.signals import post_save

    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((sender, instance.pk, created))

    post_save.connect(receiver, sender=SecurityEvent, weak=False)
    try:
        session, token, event = _rows(alice)
        with transaction.atomic():
            insert_together(connection, session, token, event)
    finally:
        post_save.disconnect(receiver, sender=SecurityEvent)
    assert heard == [(SecurityEvent, event.pk, True)] and event.pk is not None
    assert RefreshToken.objects.filter(pk=token.pk, session_id=session.id).exists()
