import json
import re

from django.core.management.base import BaseCommand, CommandError

from sessions_app.introspection import new_client_secret


class Command(BaseCommand):
    help = ("Make a secret for a resource server that introspects tokens. Prints the secret (give it to the "
            "resource server; it is shown this once) and the entry to add to INTROSPECTION_CLIENTS, which keeps "
            "only its hash.")

    def add_arguments(self, parser):
        parser.add_argument("client_id", help="The resource server's name: letters, digits, '.', '_', '-'.")

    def handle(self, *args, client_id: str, **options):
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", client_id):
            raise CommandError("client_id: 1 to 64 letters, digits, '.', '_' or '-'.")
        secret, stored = new_client_secret()
        self.stdout.write(f"secret for {client_id}: {secret}")
        self.stdout.write(f"INTROSPECTION_CLIENTS entry: {json.dumps({client_id: stored})}")
