import json

from django.core.management.base import BaseCommand

from sessions_app.signing import ASYMMETRIC_ALGORITHMS, new_private_jwk


class Command(BaseCommand):
    help = ("Print a new private key for access tokens, as a JWK (its kid is its RFC 7638 thumbprint). Put it into "
            "JWT_SIGNING_KEYS (a JSON list, newest first): docs/how-to/rotate-signing-keys.md. Keep it secret: "
            "whoever has it can sign tokens.")

    def add_arguments(self, parser):
        parser.add_argument("--algorithm", choices=ASYMMETRIC_ALGORITHMS, default="ES256",
                            help="ES256 (P-256, the default) or EdDSA (Ed25519).")

    def handle(self, *args, algorithm="ES256", **options):
        self.stdout.write(json.dumps(new_private_jwk(algorithm), separators=(",", ":")))
