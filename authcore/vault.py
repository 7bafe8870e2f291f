"""Encryption at rest of secrets an app must read back (a provider's tokens, an authenticator app's secret):
AES-256-GCM, authenticated encryption (`cryptography`, which the apps that use a vault require).

A stored value is `version (1 byte) | key id (8 bytes) | nonce (12 bytes) | ciphertext and tag`. The key id
(the first 8 bytes of the key's SHA-256) says which of the configured keys decrypts it, so keys can rotate:
the first configured key encrypts, every listed key decrypts, and an app's re-encryption command moves old
values to the newest key.

Each value is bound to where it is stored: the caller passes associated data naming the row, its owner and the
field. GCM authenticates it, so a ciphertext copied into another row or field fails to decrypt instead of
handing one account's secret to another.

Each app that keeps secrets has a Vault of its own, with its own setting for the keys: one app's key rotation
never has to wait for another's.
"""
import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VERSION = b"\x01"
KEY_ID_BYTES = 8
NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """The value was not made by one of our keys for this very place (tampered, moved, or its key removed)."""


@dataclass(frozen=True)
class Key:
    secret: bytes

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.secret).digest()[:KEY_ID_BYTES]


def parse_key(text: str) -> Key:
    """A configured key: 32 bytes in URL-safe base64 (padding optional). Raises ValueError otherwise."""
    try:
        secret = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not URL-safe base64") from None
    if len(secret) != 32:
        raise ValueError(f"{len(secret)} bytes, not 32")
    return Key(secret)


def generate_key() -> str:
    """A new key, as an app's ENCRYPTION_KEYS setting takes it."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def key_id_of(value: bytes) -> bytes:
    return bytes(value[1:1 + KEY_ID_BYTES])


class Vault:
    """The keys of one app: `configured()` returns the setting's keys (newest first); `purpose` names the vault
    (its development key is derived from SECRET_KEY and the purpose); `setting` and `holds` (what it stores)
    name them in errors."""

    def __init__(self, *, purpose: str, configured: Callable[[], list[str]], setting: str, holds: str):
        self.purpose, self.configured, self.setting, self.holds = purpose, configured, setting, holds

    def development_key(self) -> Key:
        """DEBUG only, when no key is configured: one derived from SECRET_KEY (the app's check warns), so
        `make run` works without setup. Never used with DEBUG off: the vault refuses instead."""
        derived = HKDF(algorithm=SHA256(), length=32, salt=None, info=f"{self.purpose} (development)".encode())
        return Key(derived.derive(settings.SECRET_KEY.encode()))

    def keys(self) -> list[Key]:
        """The keys, newest first. Raises ImproperlyConfigured without one outside DEBUG."""
        keys = [parse_key(text) for text in self.configured()]
        if keys:
            return keys
        if settings.DEBUG:
            return [self.development_key()]
        raise ImproperlyConfigured(f"{self.setting} is empty: {self.holds} cannot be stored.")

    def current_key_id(self) -> bytes:
        return self.keys()[0].key_id

    def encrypt(self, plaintext: str, *, bound_to: bytes) -> bytes:
        key = self.keys()[0]
        nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonces: safe far beyond any number of values stored here
        return VERSION + key.key_id + nonce + AESGCM(key.secret).encrypt(nonce, plaintext.encode(), bound_to)

    def decrypt(self, value: bytes, *, bound_to: bytes) -> str:
        value = bytes(value)
        if value[:1] != VERSION or len(value) < 1 + KEY_ID_BYTES + NONCE_BYTES + 16:
            raise DecryptionFailed("not a stored value")
        key_id, nonce = key_id_of(value), value[1 + KEY_ID_BYTES:1 + KEY_ID_BYTES + NONCE_BYTES]
        for key in self.keys():
            if key.key_id == key_id:
                try:
                    return AESGCM(key.secret).decrypt(nonce, value[1 + KEY_ID_BYTES + NONCE_BYTES:],
                                                      bound_to).decode()
                except InvalidTag:
                    raise DecryptionFailed("the value does not belong here or was altered") from None
        raise DecryptionFailed("encrypted with a key that is no longer configured")
