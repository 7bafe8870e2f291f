"""The operator behind an audit record stays on record after the operator's account is deleted: the record
keeps the id as a plain value (the foreign key is cleared with the account). What the account's owner is
shown of it (the export's by_operator) is in config/tests/test_operator_trail.py."""
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
import pytest

from authcore.models import SecurityEvent
from sessions_app import services as session_services
from sessions_app.models import Session
from sessions_app.tests.helpers import open_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operators_actions_stay_attributed_after_the_operators_account_is_deleted(make_user):
    alice = make_user("alice@example.com", password=None)
    operator = make_user("operator@example.com", password=None, is_staff=True)
    session = open_session(alice).session
    session_services.end_session(session=session, reason=Session.RevokeReason.ENDED_BY_ADMIN, actor=operator)

    operator_id = str(operator.pk)

    operator.delete()  # by any path: the kernel knows no account flow

    event = SecurityEvent.objects.get(user=alice, session_id=session.id)
    assert event.actor_id is None and event.actor_ref == operator_id


def migrate_to(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps


def test_the_migration_copies_the_ids_of_existing_records(make_user):
    operator = make_user("operator@example.com", password=None, is_staff=True)
    try:
        old = migrate_to(("authcore", "0002_running_tasks_index"))
        events = old.get_model("authcore", "SecurityEvent")
        with_actor = events.objects.create(kind="session_revoked", actor_id=operator.pk)
        without = events.objects.create(kind="authn_login_fail")

        migrate_to(("authcore", "0003_security_event_actor_ref"))
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    assert SecurityEvent.objects.get(pk=with_actor.pk).actor_ref == str(operator.pk)
    assert SecurityEvent.objects.get(pk=without.pk).actor_ref == ""
