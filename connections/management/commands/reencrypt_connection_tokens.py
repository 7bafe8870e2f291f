"""Re-encrypt every stored provider token under the newest key (CONNECTIONS ENCRYPTION_KEYS[0]).

Rotation: put the new key first, deploy, run this, then remove the old key. Safe while the service serves
(short transactions; rows held by a refresh are skipped and taken on the next pass) and idempotent: a second
run rewrites nothing."""
from django.core.management.base import BaseCommand, CommandError

from connections import services
from connections.conf import app_settings
from connections.crypto import DecryptionFailed


class Command(BaseCommand):
    help = "Re-encrypt every stored connection token under the newest key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None,
                            help="Rows per transaction (default CONNECTIONS['REENCRYPT_BATCH_SIZE'], "
                                 f"{app_settings._defaults['REENCRYPT_BATCH_SIZE']}).")

    def handle(self, *args, batch_size=None, **options):
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            rewritten = services.reencrypt_tokens(batch_size=batch_size)
        except DecryptionFailed as error:
            raise CommandError(f"A stored token cannot be decrypted with the configured keys ({error}); keep "
                               "the old key listed until this command has run.") from None
        remaining = services.rows_not_under_newest_key()
        self.stdout.write(f"Re-encrypted {rewritten} connection(s); {remaining} left under an older key.")
        if remaining:
            raise CommandError("Some rows were busy (a refresh held them): run the command again.")
