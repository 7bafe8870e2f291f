"""The data migration to canonical email addresses, and `find_email_collisions`: colliding and
non-canonicalisable rows are reported and left alone; the others are rewritten."""
from io import StringIO
import logging

from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
import pytest

from accounts.models import User

# Migrations run outside a test transaction (SQLite refuses schema work inside one).
pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("accounts", "0001_initial")
CANONICAL_EMAILS = ("accounts", "0002_canonical_emails")

FULLWIDTH = "mallory@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com"  # mallory@ｅｘａｍｐｌｅ.com
ROWS = {
    # Collides with the row stored in canonical form: both stay as they are.
    "owner": "mallory@example.com",
    "look_alike": FULLWIDTH,
    # Two spellings that collide only with each other once canonicalised: both stay.
    "eve_fullwidth": "eve@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",
    "eve_mixed": "Eve@\uff25xample.com",
    # No canonical form: stay, reported.
    "dotless": "\u0131van@example.com",
    "mixed_script": "pay@\u0440\u0430ypal.com",
    # Rewritten: their canonical form collides with nothing.
    "idn": "zoe@b\u00fccher.de",
    "kelvin": "\u212aate@example.org",
    # Already canonical: untouched and not mentioned.
    "plain": "dave@example.com",
}
REWRITTEN = {"idn": "zoe@xn--bcher-kva.de", "kelvin": "Kate@example.org"}


def migrate_to(*targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(list(targets) or executor.loader.graph.leaf_nodes())
    return executor


@pytest.fixture
def old_schema():
    """The database as it was before the migration; put back to the latest state afterwards."""
    executor = migrate_to(BEFORE)
    try:
        yield executor.loader.project_state([BEFORE]).apps.get_model("accounts", "User")
    finally:
        migrate_to()


def insert_raw(OldUser) -> dict:
    """Rows as older code stored them: the values as given, not normalised (the historical model's
    plain create)."""
    return {name: OldUser._base_manager.create(email=email, password="!").pk for name, email in ROWS.items()}


def stored(OldUser, pks: dict) -> dict:
    by_pk = dict(OldUser._base_manager.values_list("pk", "email"))
    return {name: by_pk[pk] for name, pk in pks.items()}


def test_migration_rewrites_what_it_safely_can_and_reports_the_rest(old_schema, capsys, caplog):
    pks = insert_raw(old_schema)
    caplog.set_level(logging.INFO, logger="accounts.migrations")

    migrate_to(CANONICAL_EMAILS)

    assert stored(old_schema, pks) == {**ROWS, **REWRITTEN}  # nothing merged, deleted or guessed
    report = capsys.readouterr().out
    assert report.isascii()
    assert "Email canonical form: checked 9 user(s)." in report
    assert "Rewrote 2 address(es) to their canonical form:" in report
    assert f"user {pks['idn']}: zoe@b\\xfccher.de -> zoe@xn--bcher-kva.de" in report
    assert f"user {pks['kelvin']}: \\u212aate@example.org -> Kate@example.org" in report
    assert "COLLISIONS, left unchanged, resolve by hand (2)" in report
    assert "  canonical mallory@example.com:" in report and "  canonical eve@example.com:" in report
    assert f"user {pks['owner']}: mallory@example.com\n" in report
    assert f"user {pks['look_alike']}: mallory@\\uff45\\uff58\\uff41\\uff4d\\uff50\\uff4c\\uff45.com " \
           "(canonical mallory@example.com)" in report
    assert f"user {pks['eve_mixed']}: Eve@\\uff25xample.com (canonical Eve@example.com)" in report
    assert "NO CANONICAL FORM, left unchanged, resolve by hand (2)" in report
    assert f"user {pks['dotless']}: \\u0131van@example.com: The part of this email address before the @" in report
    assert f"user {pks['mixed_script']}: pay@\\u0440\\u0430ypal.com: The domain of this email address mixes" in report
    assert str(pks["plain"]) not in report
    [record] = [r for r in caplog.records if r.name == "accounts.migrations"]
    assert record.levelno == logging.WARNING and record.getMessage() == report.strip("\n")


def test_migrating_again_changes_nothing_more(old_schema, capsys):
    pks = insert_raw(old_schema)
    migrate_to(CANONICAL_EMAILS)
    migrate_to(BEFORE)  # going back keeps the canonical addresses
    assert stored(old_schema, pks) == {**ROWS, **REWRITTEN}
    capsys.readouterr()

    migrate_to(CANONICAL_EMAILS)

    assert stored(old_schema, pks) == {**ROWS, **REWRITTEN}
    report = capsys.readouterr().out
    assert "Rewrote" not in report and "COLLISIONS" in report and "NO CANONICAL FORM" in report


def test_a_clean_database_migrates_silently(old_schema, capsys, caplog):
    old_schema._base_manager.create(email="dave@example.com", password="!")

    migrate_to(CANONICAL_EMAILS)

    assert capsys.readouterr().out == ""
    assert not [r for r in caplog.records if r.name == "accounts.migrations"]


def test_find_email_collisions_reports_the_same_and_changes_nothing(old_schema):
    pks = insert_raw(old_schema)
    migrate_to(CANONICAL_EMAILS)

    # A row written behind the model's back (raw update) after the migration ran.
    User._base_manager.filter(pk=pks["plain"]).update(email="dave@\uff45xample.com")
    before = dict(User.objects.values_list("pk", "email"))

    out = StringIO()
    call_command("find_email_collisions", stdout=out)

    assert dict(User.objects.values_list("pk", "email")) == before
    report = out.getvalue()
    assert "Not in canonical form, no collision, safe to rewrite (1):" in report
    assert f"user {pks['plain']}: dave@\\uff45xample.com -> dave@example.com" in report
    assert "COLLISIONS, left unchanged, resolve by hand (2)" in report
    assert f"user {pks['look_alike']}: mallory@" in report
    assert "NO CANONICAL FORM, left unchanged, resolve by hand (2)" in report


def test_find_email_collisions_on_a_canonical_database(make_user):
    make_user("alice@example.com")
    out = StringIO()
    call_command("find_email_collisions", stdout=out)
    assert out.getvalue() == ("Email canonical form: checked 1 user(s).\n"
                              "Every address is in canonical form; no collisions.\n")
