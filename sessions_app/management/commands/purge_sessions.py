from django.core.management.base import BaseCommand

from sessions_app.conf import app_settings
from sessions_app.services import purge_dead_sessions


class Command(BaseCommand):
    help = "Delete revoked and expired sessions and their refresh tokens, in bounded batches."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None,
                            help=f"Sessions per DELETE (default SESSIONS_APP['PURGE_BATCH_SIZE'], "
                                 f"{app_settings._defaults['PURGE_BATCH_SIZE']}).")
        parser.add_argument("--pause", type=float, default=None,
                            help=f"Seconds to wait between batches, so a large purge leaves room for live traffic "
                                 f"(default SESSIONS_APP['PURGE_PAUSE'], {app_settings._defaults['PURGE_PAUSE']}).")

    def handle(self, *args, batch_size=None, pause=None, **options):
        pause = app_settings.PURGE_PAUSE if pause is None else pause
        if batch_size is not None and batch_size < 1:
            self.stderr.write("--batch-size must be at least 1.")
            return
        if pause < 0:
            self.stderr.write("--pause must not be negative.")
            return
        deleted = purge_dead_sessions(batch_size=batch_size, pause=pause)
        self.stdout.write(f"Deleted {deleted} dead session(s).")
