"""The keys that sign access tokens, and how a token names the one that signed it (its `kid` header).

By default access tokens are signed with a private key (ES256, or EdDSA) whose public half anyone may have: other
services check a token with the JWKS (`GET /.well-known/jwks.json`, sessions_app.api.views.JWKSView) and cannot mint
one. SESSIONS_APP settings:

- SIGNING_KEYS: the private keys as JWKs (RFC 7517; `manage.py make_signing_key` makes one), newest first. The first
  signs; every one verifies, so a key can be published before it signs and kept after it stops (the rotation in
  docs/how-to/rotate-signing-keys.md). A key's id is its RFC 7638 thumbprint unless the JWK names one (`kid`).
- SIGNING_ALGORITHM: "ES256" (P-256, the default) or "EdDSA" (Ed25519), the algorithm of the key made when none is
  set; or "HS256": tokens signed with the shared secret SIMPLE_JWT["SIGNING_KEY"], which only who holds it can check
  (no JWKS).

Without SIGNING_KEYS, one key is derived from SECRET_KEY in development (DEBUG: the same in every process and across
restarts); with DEBUG off no token is signed or checked without keys (check sessions_app.E021 says so at start).
RFC 8725: a token is checked only with the algorithm of the key its `kid` names, never one it chose itself.
"""
import base64
from dataclasses import dataclass
import hashlib
import json

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
import jwt
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from .conf import app_settings

ASYMMETRIC_ALGORITHMS = ("ES256", "EdDSA")
HMAC_ALGORITHM = "HS256"
# The key types and curves each asymmetric algorithm signs with.
CURVES = {"ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519")}
# What a JWKS may say of a public key: never the private part (`d`) nor anything else a JWK may carry.
PUBLIC_MEMBERS = {"EC": ("kty", "crv", "x", "y"), "OKP": ("kty", "crv", "x")}


class SigningKeyError(ValueError):
    """A key in SIGNING_KEYS that cannot be used (the system check names it)."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private: object  # what PyJWT signs with (a cryptography key, or the HMAC secret)
    public: object  # what it verifies with
    public_jwk: dict | None  # for the JWKS; None for the shared secret


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[SigningKey, ...]
    derived: bool  # the development key made from SECRET_KEY

    @property
    def signing(self) -> SigningKey:
        return self.keys[0]

    def verifying(self, kid: str | None) -> SigningKey | None:
        """The key a token's `kid` names; a token without one only while the shared secret signs (tokens issued
        before `kid` was added)."""
        if kid is None:
            return self.signing if self.signing.algorithm == HMAC_ALGORITHM else None
        return next((key for key in self.keys if key.kid == kid), None)

    def jwks(self) -> dict:
        return {"keys": [key.public_jwk for key in self.keys if key.public_jwk is not None]}


_cached: KeyRing | None = None


@receiver(setting_changed)
def _forget_keys(*, setting, **kwargs) -> None:
    global _cached
    if setting in ("SESSIONS_APP", "SIMPLE_JWT", "SECRET_KEY"):
        _cached = None


def key_ring() -> KeyRing:
    """The configured keys, parsed once per process (and again when a test changes the settings)."""
    global _cached
    if _cached is None:
        _cached = load_key_ring(algorithm=app_settings.SIGNING_ALGORITHM, keys=app_settings.SIGNING_KEYS)
    return _cached


def load_key_ring(*, algorithm: str, keys) -> KeyRing:
    """Parse `keys` (a list of private JWKs, or their JSON) for `algorithm`; raises SigningKeyError."""
    if algorithm == HMAC_ALGORITHM:
        secret = settings.SIMPLE_JWT.get("SIGNING_KEY") or ""
        if len(str(secret).encode()) < 32 or secret == settings.SECRET_KEY:
            raise SigningKeyError("with HS256, SIMPLE_JWT['SIGNING_KEY'] must be at least 32 bytes, not SECRET_KEY.")
        kid = "hs256-" + hashlib.sha256(str(secret).encode()).hexdigest()[:16]  # names the secret, reveals nothing
        return KeyRing(keys=(SigningKey(kid=kid, algorithm=HMAC_ALGORITHM, private=secret, public=secret,
                                        public_jwk=None),), derived=False)
    if algorithm not in ASYMMETRIC_ALGORITHMS:
        raise SigningKeyError(f"SIGNING_ALGORITHM must be one of ES256, EdDSA, HS256, not {algorithm!r}.")
    keys = listed_keys(keys)
    if not keys:
        if not settings.DEBUG:
            # Never outside development, whatever a start-up check missed (gunicorn runs none).
            raise SigningKeyError("SIGNING_KEYS is empty with DEBUG off: `manage.py make_signing_key` makes a key.")
        return KeyRing(keys=(_derived_key(algorithm),), derived=True)
    parsed = tuple(_parse(jwk, index) for index, jwk in enumerate(keys))
    kids = [key.kid for key in parsed]
    if len(set(kids)) != len(kids):
        raise SigningKeyError("SIGNING_KEYS lists a key twice (two keys with one kid).")
    return KeyRing(keys=parsed, derived=False)


def listed_keys(keys) -> list[dict]:
    """SIGNING_KEYS as a list of JWKs (it may be their JSON, from the environment); raises SigningKeyError."""
    if isinstance(keys, str):
        try:
            keys = json.loads(keys) if keys.strip() else []
        except ValueError:
            raise SigningKeyError("SIGNING_KEYS is not JSON: a list of private JWKs.") from None
    if not isinstance(keys, list | tuple) or not all(isinstance(key, dict) for key in keys):
        raise SigningKeyError("SIGNING_KEYS must be a list of private JWKs (JSON objects).")
    return list(keys)


def _parse(jwk: dict, index: int) -> SigningKey:
    kty, crv = jwk.get("kty"), jwk.get("crv")
    algorithm = next((name for name, curve in CURVES.items() if curve == (kty, crv)), None)
    if algorithm is None:
        raise SigningKeyError(f"SIGNING_KEYS[{index}]: an EC P-256 (ES256) or OKP Ed25519 (EdDSA) key is needed, "
                              f"not kty={kty!r} crv={crv!r}.")
    if jwk.get("alg") not in (None, algorithm):
        raise SigningKeyError(f"SIGNING_KEYS[{index}]: its alg {jwk['alg']!r} is not {algorithm}.")
    if "d" not in jwk:
        raise SigningKeyError(f"SIGNING_KEYS[{index}]: the private part (d) is missing.")
    if not isinstance(jwk.get("kid", ""), str) or len(jwk.get("kid", "")) > 128:
        raise SigningKeyError(f"SIGNING_KEYS[{index}]: kid must be a string of at most 128 characters.")
    try:
        private = (ECAlgorithm if kty == "EC" else OKPAlgorithm).from_jwk(jwk)
    except (jwt.InvalidKeyError, ValueError, TypeError) as error:
        raise SigningKeyError(f"SIGNING_KEYS[{index}]: not a valid key ({error}).") from None
    return _signing_key(private, algorithm, kid=jwk.get("kid"))


def _signing_key(private, algorithm: str, *, kid: str | None = None) -> SigningKey:
    public = private.public_key()
    public_jwk = json.loads((ECAlgorithm if algorithm == "ES256" else OKPAlgorithm).to_jwk(public))
    public_jwk = {name: public_jwk[name] for name in PUBLIC_MEMBERS[public_jwk["kty"]]}
    kid = kid or thumbprint(public_jwk)
    return SigningKey(kid=kid, algorithm=algorithm, private=private, public=public,
                      public_jwk={**public_jwk, "kid": kid, "alg": algorithm, "use": "sig"})


def thumbprint(public_jwk: dict) -> str:
    """RFC 7638: the SHA-256 of the key's required members, in order, without spaces, base64url."""
    members = {name: public_jwk[name] for name in sorted(PUBLIC_MEMBERS[public_jwk["kty"]])}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _derived_key(algorithm: str) -> SigningKey:
    """Development only: a key made from SECRET_KEY, so that every process and restart has the same one."""
    seed = hashlib.sha256(b"sessions_app.signing development key:" + settings.SECRET_KEY.encode()).digest()
    if algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    else:
        curve_order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
        private = ec.derive_private_key(int.from_bytes(seed, "big") % (curve_order - 1) + 1, ec.SECP256R1())
    return _signing_key(private, algorithm)


def new_private_jwk(algorithm: str = "ES256") -> dict:
    """A new private key as a JWK, for SIGNING_KEYS (`manage.py make_signing_key`)."""
    if algorithm not in ASYMMETRIC_ALGORITHMS:
        raise SigningKeyError(f"the algorithm must be one of {', '.join(ASYMMETRIC_ALGORITHMS)}.")
    if algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        jwk = json.loads(OKPAlgorithm.to_jwk(private))
    else:
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(ECAlgorithm.to_jwk(private))
    public = {name: jwk[name] for name in PUBLIC_MEMBERS[jwk["kty"]]}
    return {**{name: jwk[name] for name in (*PUBLIC_MEMBERS[jwk["kty"]], "d")}, "kid": thumbprint(public),
            "alg": algorithm}
