"""The vault of the authenticator-app secrets (authcore.vault: AES-256-GCM, rotating keys), keyed by MFA
ENCRYPTION_KEYS, each secret bound to its row and user so that a ciphertext copied to another row fails."""
from authcore.vault import Vault

from .conf import app_settings

vault = Vault(purpose="mfa secret vault", configured=lambda: app_settings.ENCRYPTION_KEYS,
              setting="MFA['ENCRYPTION_KEYS']", holds="authenticator-app secrets")


def bound_to(authenticator) -> bytes:
    return f"mfa.authenticator:{authenticator.pk}:{authenticator.user_id}:{authenticator.kind}".encode()
