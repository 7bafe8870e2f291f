"""The kernel's vault (authcore.vault) on its own: AES-256-GCM values bound to their place, keys that rotate,
one vault's values closed to another's keys. The connections app's use of it is tested in
connections/tests/test_vault.py."""
from django.core.exceptions import ImproperlyConfigured
import pytest

from authcore.vault import DecryptionFailed, Vault, generate_key, key_id_of, parse_key

PLACE = b"row 1|user 7|field secret"


def vault_with(keys: list[str], purpose: str = "test vault") -> Vault:
    return Vault(purpose=purpose, configured=lambda: keys, setting="TEST['KEYS']", holds="test secrets")


def test_a_value_comes_back_only_from_its_place():
    vault = vault_with([generate_key()])
    stored = vault.encrypt("s3cret", bound_to=PLACE)
    assert b"s3cret" not in stored
    assert vault.decrypt(stored, bound_to=PLACE) == "s3cret"
    with pytest.raises(DecryptionFailed):
        vault.decrypt(stored, bound_to=b"row 2|user 7|field secret")
    tampered = bytearray(stored)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        vault.decrypt(bytes(tampered), bound_to=PLACE)


def test_the_newest_key_encrypts_and_every_listed_key_decrypts():
    old, new = generate_key(), generate_key()
    stored_under_old = vault_with([old]).encrypt("s3cret", bound_to=PLACE)
    rotated = vault_with([new, old])
    assert rotated.decrypt(stored_under_old, bound_to=PLACE) == "s3cret"
    assert key_id_of(rotated.encrypt("s3cret", bound_to=PLACE)) == parse_key(new).key_id
    with pytest.raises(DecryptionFailed):
        vault_with([new]).decrypt(stored_under_old, bound_to=PLACE)  # the old key removed too early


def test_development_keys_differ_by_purpose_and_exist_only_in_debug(settings):
    settings.DEBUG = True
    one, other = vault_with([], "one vault"), vault_with([], "another vault")
    stored = one.encrypt("s3cret", bound_to=PLACE)
    assert one.decrypt(stored, bound_to=PLACE) == "s3cret"
    with pytest.raises(DecryptionFailed):
        other.decrypt(stored, bound_to=PLACE)
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured, match=r"TEST\['KEYS'\] is empty: test secrets cannot be stored"):
        one.encrypt("s3cret", bound_to=PLACE)


@pytest.mark.parametrize("text", ["", "not base64!", generate_key()[:20]])
def test_a_malformed_key_is_refused(text):
    with pytest.raises(ValueError):
        parse_key(text)
