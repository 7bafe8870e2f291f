"""Report stored email addresses that are not in canonical form (read only): the ones the data migration
0002_canonical_emails would rewrite, and the ones it leaves for an operator (collisions, addresses with no
canonical form). Same plan, same report as the migration (accounts.addresses)."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from accounts.addresses import email_report_lines, plan_email_canonicalisation


class Command(BaseCommand):
    help = ("Report email addresses that collide once canonicalised, or have no canonical form, and those "
            "that are not yet in canonical form. Changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database to read (default: %(default)s).")

    def handle(self, *args, **options):
        users = get_user_model()._base_manager.using(options["database"])
        plan = plan_email_canonicalisation(users.order_by("pk").values("pk", "email").iterator())
        for line in email_report_lines(plan, applied=False):
            self.stdout.write(line)
