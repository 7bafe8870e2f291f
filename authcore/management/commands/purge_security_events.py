from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from authcore.audit import purge_security_events
from authcore.conf import app_settings


class Command(BaseCommand):
    help = ("Delete security events older than AUTHCORE['SECURITY_EVENT_RETENTION'] (or --days), in bounded "
            "batches. Run it daily from cron.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None,
                            help="Keep this many days instead of the retention setting "
                                 f"({app_settings._defaults['SECURITY_EVENT_RETENTION'].days} by default).")
        parser.add_argument("--batch-size", type=int, default=None, help="Events per DELETE.")
        parser.add_argument("--pause", type=float, default=0.0, help="Seconds to wait between batches.")

    def handle(self, *args, days=None, batch_size=None, pause=0.0, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if pause < 0:
            raise CommandError("--pause must not be negative.")
        before = timezone.now() - timedelta(days=days) if days is not None else None
        deleted = purge_security_events(before=before, batch_size=batch_size, pause=pause)
        self.stdout.write(f"Deleted {deleted} security event(s).")
