"""Bring every stored email address to its canonical form (accounts.addresses.canonical_email).

Nothing is merged, deleted or guessed: addresses whose canonical form collides with another account,
and addresses that have no canonical form, are left as they are and reported (printed, and logged as a
WARNING on `accounts.migrations`) for an operator to resolve. `manage.py find_email_collisions` prints
the same report at any time. Addresses whose canonical form collides with nothing are rewritten.
"""
import logging

from django.db import migrations

from accounts.addresses import email_report_lines, plan_email_canonicalisation

logger = logging.getLogger("accounts.migrations")


def canonicalise_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    # The base manager is a plain one: the historical model gets the live code's UserManager
    # (use_in_migrations), and whatever that does later must not filter what we read or hook our updates.
    users = User._base_manager.using(schema_editor.connection.alias)
    plan = plan_email_canonicalisation(users.order_by("pk").values("pk", "email").iterator())
    for stored in plan.updates:
        users.filter(pk=stored.pk).update(email=stored.canonical)
    if not (plan.updates or plan.has_problems):
        return  # a new database, or one already canonical: nothing to say
    report = "\n".join(email_report_lines(plan, applied=True))
    print(f"\n{report}")  # `migrate` has just written "Applying ..." without a line break
    logger.log(logging.WARNING if plan.has_problems else logging.INFO, "%s", report)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        # Going back leaves the canonical addresses: they are valid addresses for the older code too,
        # and the spellings they replaced reached the same mailboxes.
        migrations.RunPython(canonicalise_emails, migrations.RunPython.noop),
    ]
