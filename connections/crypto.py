"""The vault of the provider tokens (authcore.vault: AES-256-GCM, rotating keys, each value bound to its
place), keyed by CONNECTIONS ENCRYPTION_KEYS: the first encrypts, every one decrypts, and
`reencrypt_connection_tokens` moves old values to the newest key. Each value is bound to the connection row,
its user, its provider and the field (connections.models), so a ciphertext copied into another user's row,
another provider's row or another field fails to decrypt."""
from authcore.vault import KEY_ID_BYTES, DecryptionFailed, Vault, generate_key, key_id_of, parse_key

from .conf import app_settings

__all__ = ["KEY_ID_BYTES", "DecryptionFailed", "current_key_id", "decrypt", "development_key", "encrypt",
           "generate_key", "key_id_of", "parse_key"]

# The purpose names the development key's derivation: unchanged, so values stored under DEBUG still decrypt.
vault = Vault(purpose="connections token vault", configured=lambda: app_settings.ENCRYPTION_KEYS,
              setting="CONNECTIONS['ENCRYPTION_KEYS']", holds="provider tokens")
encrypt, decrypt, current_key_id, development_key = vault.encrypt, vault.decrypt, vault.current_key_id, \
    vault.development_key
