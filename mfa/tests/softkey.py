"""A software security key for the API tests: soft-webauthn's authenticator (a real ES256 key pair, real CBOR
attestation and signatures), fed the JSON options the service gives and answering in the JSON shape browsers
give (PublicKeyCredential.toJSON()). Its assertions can say the user was verified (a passkey's PIN or biometric)
and can be made to reuse a signature counter (a cloned key)."""
import base64
import json
from struct import pack

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.utils import sha256
from soft_webauthn import SoftWebauthnDevice

ORIGIN = "http://testserver"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftKey(SoftWebauthnDevice):
    def __init__(self, *, verifies_user: bool = True):
        super().__init__()
        self.verifies_user = verifies_user

    def create_json(self, options: dict, origin: str = ORIGIN) -> dict:
        """Answer creation options (the service's JSON) as a browser would."""
        native = {"publicKey": {**options, "challenge": from_b64url(options["challenge"]),
                                "user": {**options["user"], "id": from_b64url(options["user"]["id"])}}}
        made = self.create(native, origin)
        attestation = made["response"]["attestationObject"]
        if self.verifies_user:  # flags byte after the 32-byte RP id hash: AT | UP, plus UV
            attestation = self._with_user_verified(attestation)
        return {"id": b64url(made["rawId"]), "rawId": b64url(made["rawId"]), "type": "public-key",
                "response": {"clientDataJSON": b64url(made["response"]["clientDataJSON"]),
                             "attestationObject": b64url(attestation)}}

    def _with_user_verified(self, attestation_object: bytes) -> bytes:
        from fido2 import cbor

        decoded = cbor.decode(attestation_object)
        data = bytearray(decoded["authData"])
        data[32] |= 0x04
        decoded["authData"] = bytes(data)
        return cbor.encode(decoded)

    def get_json(self, options: dict, origin: str = ORIGIN, *, repeat_counter: bool = False) -> dict:
        """Answer request options as a browser would: signed client data and authenticator data."""
        if not repeat_counter:
            self.sign_count += 1
        client_data = json.dumps({"type": "webauthn.get", "challenge": options["challenge"], "origin": origin,
                                  "crossOrigin": False}).encode()
        flags = 0x01 | (0x04 if self.verifies_user else 0)
        authenticator_data = sha256(self.rp_id.encode()) + bytes([flags]) + pack(">I", self.sign_count)
        signature = self.private_key.sign(authenticator_data + sha256(client_data), ec.ECDSA(hashes.SHA256()))
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data),
                             "authenticatorData": b64url(authenticator_data),
                             "signature": b64url(signature),
                             "userHandle": b64url(self.user_handle)}}
