"""Security keys and passkeys (WebAuthn, with py_webauthn): the options a browser passes to
navigator.credentials.create() / .get(), their single-use challenges, and the checks of what comes back.

Relying party: MFA["WEBAUTHN_RP_ID"] (default: the host of ACCOUNTS["SITE_URL"]) and the origins allowed to use it,
MFA["WEBAUTHN_ORIGINS"] (default: the origin of SITE_URL). Attestation "none": the service trusts a key for
holding its private key, not for its make, so no vendor list is kept.

Challenges: 32 random bytes, kept in the cache under their hash with what they were issued for (a purpose and,
except for a passkey sign-in, the user) for CHALLENGE_LIFETIME. The answer names its challenge itself (in
clientDataJSON), and taking it deletes it: a challenge serves one answer, for the purpose and the user it was made
for, and the signature over it is what proves the key.
"""
import base64
import binascii
import hashlib
import json
import secrets
from urllib.parse import urlsplit

from django.core.cache import cache
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.conf import app_settings as accounts_settings
from authcore.errors import ServiceError
from authcore.ratelimit import with_limit_cache

from . import limits
from .conf import app_settings

CHALLENGE_LIFETIME = 300  # seconds: the options' own timeout (60 s) and the time to send the answer back
TIMEOUT_MS = 60_000
# Longest answer looked at (a credential's JSON: an attestation with its public key, client data, ...); anything
# longer is refused before it is parsed.
CREDENTIAL_MAX_LENGTH = 16_384
CREDENTIAL_ID_MAX_BYTES = 1023  # WebAuthn §7.1 step 17 (base64url: at most 1364 characters, within the column)
# The purposes a challenge is issued for.
REGISTER, AUTHENTICATE, PASSKEY = "register", "authenticate", "passkey"
_PREFIX = "mfa:webauthn:challenge:"


def rp_id() -> str:
    return app_settings.WEBAUTHN_RP_ID or urlsplit(accounts_settings.SITE_URL).hostname or "localhost"


def origins() -> list[str]:
    if app_settings.WEBAUTHN_ORIGINS:
        return list(app_settings.WEBAUTHN_ORIGINS)
    parts = urlsplit(accounts_settings.SITE_URL)
    return [f"{parts.scheme}://{parts.netloc}"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(challenge: bytes) -> str:
    return _PREFIX + hashlib.sha256(challenge).hexdigest()


def _issue(purpose: str, user_id) -> bytes:
    challenge = secrets.token_bytes(32)
    record = {"purpose": purpose, "user": str(user_id) if user_id is not None else None}
    with_limit_cache(limits.MANAGE_FACTORS, lambda: cache.set(_key(challenge), record, CHALLENGE_LIFETIME),
                     fallback=None)
    return challenge


def _as_json(options) -> dict:
    return json.loads(options_to_json(options))


# --- options ------------------------------------------------------------------------------------------------------
def registration_options(user, *, existing_credential_ids: list[str], passkey: bool) -> dict:
    """PublicKeyCredentialCreationOptions for a new key of `user` (none of the keys it already has; a passkey is
    kept on the device and verifies its user)."""
    options = generate_registration_options(
        rp_id=rp_id(), rp_name=app_settings.WEBAUTHN_RP_NAME or accounts_settings.SITE_NAME,
        user_name=user.email, user_id=user.pk.bytes, user_display_name=user.name or user.email,
        challenge=_issue(REGISTER, user.pk), timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED if passkey else ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.REQUIRED if passkey
            else UserVerificationRequirement.PREFERRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=_from_b64url(credential_id))
                             for credential_id in existing_credential_ids])
    return _as_json(options)


def authentication_options(user, credential_ids: list[str]) -> dict:
    """PublicKeyCredentialRequestOptions for `user`'s keys, as a second factor."""
    options = generate_authentication_options(
        rp_id=rp_id(), challenge=_issue(AUTHENTICATE, user.pk), timeout=TIMEOUT_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=_from_b64url(credential_id))
                           for credential_id in credential_ids],
        user_verification=UserVerificationRequirement.PREFERRED)
    return _as_json(options)


def passkey_options() -> dict:
    """Options for signing in with a passkey: no user yet (the passkey names it), user verification required."""
    options = generate_authentication_options(rp_id=rp_id(), challenge=_issue(PASSKEY, None), timeout=TIMEOUT_MS,
                                              user_verification=UserVerificationRequirement.REQUIRED)
    return _as_json(options)


# --- answers -------------------------------------------------------------------------------------------------------
def parse_credential(credential) -> dict:
    """The answer as a dict of the shape browsers give (PublicKeyCredential.toJSON()), capped and checked for its
    shape before any cryptography; 400 `webauthn_invalid` otherwise."""
    if isinstance(credential, str):
        if len(credential) > CREDENTIAL_MAX_LENGTH:
            raise ServiceError("webauthn_invalid")
        try:
            credential = json.loads(credential)
        except (ValueError, RecursionError):
            raise ServiceError("webauthn_invalid") from None
    if not isinstance(credential, dict) or len(json.dumps(credential)) > CREDENTIAL_MAX_LENGTH:
        raise ServiceError("webauthn_invalid")
    if not isinstance(credential.get("id"), str) or not isinstance(credential.get("response"), dict):
        raise ServiceError("webauthn_invalid")
    return credential


def credential_id_of(credential: dict) -> str:
    return credential["id"]


def take_challenge(credential: dict, *, purpose: str, user_id=None) -> bytes:
    """The challenge the answer signed, if this service issued it for `purpose` (and `user_id`) and it was not used
    yet; it is spent now. Else 400 `webauthn_invalid`."""
    try:
        client_data = json.loads(_from_b64url(credential["response"]["clientDataJSON"]))
        challenge = _from_b64url(client_data["challenge"])
    except (KeyError, TypeError, ValueError, binascii.Error, RecursionError):
        raise ServiceError("webauthn_invalid") from None
    key = _key(challenge)
    record = with_limit_cache(limits.MANAGE_FACTORS, lambda: cache.get(key), fallback=None)
    if (not isinstance(record, dict) or record["purpose"] != purpose
            or (user_id is not None and record["user"] != str(user_id))):
        raise ServiceError("webauthn_invalid")
    if not with_limit_cache(limits.MANAGE_FACTORS, lambda: cache.delete(key), fallback=False):
        raise ServiceError("webauthn_invalid")  # taken by a concurrent answer
    return challenge


def verify_new_key(credential: dict, challenge: bytes, *, passkey: bool):
    """The checked registration (py_webauthn's VerifiedRegistration), or 400 `webauthn_invalid`."""
    try:
        return verify_registration_response(credential=credential, expected_challenge=challenge,
                                            expected_rp_id=rp_id(), expected_origin=origins(),
                                            require_user_verification=passkey)
    except (WebAuthnException, KeyError, TypeError, ValueError, RecursionError) as error:
        raise ServiceError("webauthn_invalid") from error


def verify_assertion(credential: dict, challenge: bytes, *, public_key: bytes, user_verification: bool):
    """The checked assertion (its new sign count in `.new_sign_count`), or 400 `webauthn_invalid`. The counter is
    judged by the caller, after the signature held (a forged answer must not pass for a cloned key)."""
    try:
        return verify_authentication_response(credential=credential, expected_challenge=challenge,
                                              expected_rp_id=rp_id(), expected_origin=origins(),
                                              credential_public_key=public_key, credential_current_sign_count=0,
                                              require_user_verification=user_verification)
    except (WebAuthnException, KeyError, TypeError, ValueError, RecursionError) as error:
        raise ServiceError("webauthn_invalid") from error


def looks_cloned(*, stored: int, reported: int) -> bool:
    """A key that counts its signatures reports a higher count each time; the same or a lower one means two
    copies of it are in use (WebAuthn §6.1.1). A key that does not count reports 0 every time."""
    return (stored > 0 or reported > 0) and reported <= stored


def encode_id(raw: bytes) -> str:
    return _b64url(raw)
