"""Encryption at rest of the provider tokens: AES-256-GCM (authenticated encryption, `cryptography`).

A stored value is `version (1 byte) | key id (8 bytes) | nonce (12 bytes) | ciphertext and tag`. The key id
(the first 8 bytes of the key's SHA-256) says which of the configured keys decrypts it, so keys can rotate:
the first key of CONNECTIONS ENCRYPTION_KEYS encrypts, every listed key decrypts, and
`reencrypt_connection_tokens` moves old values to the newest key.

Each value is bound to where it is stored: the associated data names the connection row, its user, its
provider and the field. GCM authenticates it, so a ciphertext copied into another user's row, another
provider's row or another field fails to decrypt instead of handing one account's token to another.
"""
import base64
import binascii
from dataclasses import dataclass
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .conf import app_settings

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
    """A new key, as ENCRYPTION_KEYS takes it."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def development_key() -> Key:
    """DEBUG only, when no key is configured: one derived from SECRET_KEY (connections.W001 says so), so
    `make run` works without setup. Never used with DEBUG off: settings refuse to start instead."""
    derived = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"connections token vault (development)")
    return Key(derived.derive(settings.SECRET_KEY.encode()))


def configured_keys() -> list[Key]:
    """The keys, newest first. Raises ImproperlyConfigured without one outside DEBUG."""
    keys = [parse_key(text) for text in app_settings.ENCRYPTION_KEYS]
    if keys:
        return keys
    if settings.DEBUG:
        return [development_key()]
    raise ImproperlyConfigured("CONNECTIONS['ENCRYPTION_KEYS'] is empty: provider tokens cannot be stored.")


def current_key_id() -> bytes:
    return configured_keys()[0].key_id


def key_id_of(value: bytes) -> bytes:
    return bytes(value[1:1 + KEY_ID_BYTES])


def encrypt(plaintext: str, *, bound_to: bytes) -> bytes:
    key = configured_keys()[0]
    nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonces: safe far beyond any number of tokens stored here
    return VERSION + key.key_id + nonce + AESGCM(key.secret).encrypt(nonce, plaintext.encode(), bound_to)


def decrypt(value: bytes, *, bound_to: bytes) -> str:
    value = bytes(value)
    if value[:1] != VERSION or len(value) < 1 + KEY_ID_BYTES + NONCE_BYTES + 16:
        raise DecryptionFailed("not a stored token")
    key_id, nonce = key_id_of(value), value[1 + KEY_ID_BYTES:1 + KEY_ID_BYTES + NONCE_BYTES]
    for key in configured_keys():
        if key.key_id == key_id:
            try:
                return AESGCM(key.secret).decrypt(nonce, value[1 + KEY_ID_BYTES + NONCE_BYTES:], bound_to).decode()
            except InvalidTag:
                raise DecryptionFailed("the value does not belong here or was altered") from None
    raise DecryptionFailed("encrypted with a key that is no longer configured")
