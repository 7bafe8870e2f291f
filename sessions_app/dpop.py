"""Sender-constrained tokens: DPoP (RFC 9449).

A client that holds a key pair (a non-extractable WebCrypto key in a browser, the keystore on a phone) sends, with
each request, a `DPoP` header: a short JWT signed with that key, naming the request (`htm`, `htu`), made just now
(`iat`), never sent before (`jti`) and, to a resource, bound to the access token (`ath`). A token issued with such a
proof is bound to the key (`cnf.jkt`, its RFC 7638 thumbprint): whoever steals the token alone cannot use it.

- Login and refresh with a proof: the session is bound to the key at login (Session.dpop_jkt), so its refresh token
  works only with a proof by that key, and every access token it issues carries `cnf.jkt` and is of type `DPoP`.
- A request with a bound token: `Authorization: DPoP <token>` and a fresh proof by the same key
  (sessions_app.authentication). The same token as `Bearer` is refused.
- SESSIONS_APP["DPOP"]: "optional" (the default: bearer tokens keep working for clients that send no proof) or
  "required" (a login or refresh without a proof is refused). DPOP_PROOF_LIFETIME: how far a proof's `iat` may be
  from now (60 s). DPOP_NONCE: also ask for a server nonce (`DPoP-Nonce`, RFC 9449 §8), which bounds a proof to the
  minutes around its use even if the client's clock is off.

A proof's `jti` is remembered in the default cache (Redis: shared by every process) for twice the proof lifetime,
under the key's thumbprint: the same proof presented twice, to any process, is refused.
"""
import base64
from dataclasses import dataclass
from functools import lru_cache
import hashlib
import hmac
import json
import re
import time
from urllib.parse import urlsplit

from django.core.cache import cache
from django.utils.crypto import salted_hmac
import jwt
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from authcore.errors import ServiceError
from authcore.ratelimit import with_limit_cache

from . import limits
from .conf import app_settings
from .signing import PUBLIC_MEMBERS, thumbprint

ALGORITHMS = ("ES256", "EdDSA")
KEY_TYPES = {"ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519")}
PROOF_MAX_LENGTH = 4096
JTI_MAX_LENGTH = 256
_JTI_PREFIX = "sessions_app:dpop:jti:"
NONCE_PERIOD = 300  # seconds: a nonce is good for the period it was made in and the next one


@dataclass(frozen=True)
class Proof:
    jkt: str  # the RFC 7638 thumbprint of the key that signed it
    # With server nonces on, a fresh nonce when the proof's own is of the previous period and stops holding within
    # this one: sent in DPoP-Nonce with the answer (RFC 9449 §8.2), so the client's next request is not refused
    # first. The views add it (sessions_app.api.dpop, sessions_app.authentication).
    next_nonce: str | None = None


def required() -> bool:
    return app_settings.DPOP == "required"


def check_proof(proof: str | None, *, method: str, url: str, access_token: str | None = None,
                expected_jkt: str | None = None) -> Proof:
    """The `DPoP` header of a request to `method` `url` holds (RFC 9449 §4.3), for `access_token` if given (its
    `ath`), by the key `expected_jkt` if given; or 400/401 `invalid_dpop_proof` (or `use_dpop_nonce`)."""
    if not proof or len(proof) > PROOF_MAX_LENGTH:
        raise _invalid("missing" if not proof else "too_long")
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.InvalidTokenError:
        raise _invalid("malformed") from None
    public_jwk = header.get("jwk")
    algorithm = header.get("alg")
    if header.get("typ") != "dpop+jwt" or algorithm not in ALGORITHMS or not isinstance(public_jwk, dict):
        raise _invalid("header")
    key_type = (public_jwk.get("kty"), public_jwk.get("crv"))
    if key_type != KEY_TYPES[algorithm] or "d" in public_jwk:
        raise _invalid("jwk")
    try:
        key, jkt = _public_key(algorithm, tuple((name, public_jwk[name]) for name in PUBLIC_MEMBERS[key_type[0]]))
        claims = jwt.decode(proof, key, algorithms=[algorithm],
                            options={"require": ["jti", "htm", "htu", "iat"], "verify_aud": False,
                                     "verify_iat": False, "verify_exp": False, "verify_nbf": False})
    except (jwt.PyJWKError, jwt.PyJWTError, KeyError, TypeError, ValueError, UnicodeError):
        raise _invalid("signature") from None
    next_nonce = _check_claims(claims, method=method, url=url, access_token=access_token)
    if expected_jkt is not None and not hmac.compare_digest(jkt, expected_jkt):
        raise _invalid("key")
    _spend(jkt, claims["jti"])
    return Proof(jkt=jkt, next_nonce=next_nonce)


@lru_cache(maxsize=1024)
def _public_key(algorithm: str, members: tuple[tuple[str, object], ...]) -> tuple[object, str]:
    """The key a proof's `jwk` describes, and its RFC 7638 thumbprint. Cached: a client signs every proof with
    the same key, and loading a point (checked to be on the curve) costs about as much as verifying a signature.
    Only keys that load are cached (an exception is not), and at most 1024 of them."""
    key = jwt.PyJWK(dict(members), algorithm=algorithm).key
    # The thumbprint of the key as parsed, not as written (a padded coordinate is the same key).
    canonical = json.loads((ECAlgorithm if dict(members)["kty"] == "EC" else OKPAlgorithm).to_jwk(key))
    return key, thumbprint(canonical)


def _check_claims(claims: dict, *, method: str, url: str, access_token: str | None) -> str | None:
    """Raises unless the claims hold; returns the nonce to hand out next, if any (Proof.next_nonce)."""
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not jti or len(jti) > JTI_MAX_LENGTH or not jti.isascii():
        raise _invalid("jti")
    now, lifetime = time.time(), app_settings.DPOP_PROOF_LIFETIME.total_seconds()
    # Written so that NaN, infinities and a bool fail it too (a NaN compares false with everything).
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not (now - lifetime <= iat <= now + lifetime):
        raise _invalid("iat")
    if claims.get("htm") != method:
        raise _invalid("htu" if not isinstance(claims.get("htm"), str) else "htm")
    if not isinstance(claims.get("htu"), str) or normalised_uri(claims["htu"]) != normalised_uri(url):
        raise _invalid("htu")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise _invalid("ath")
    if not app_settings.DPOP_NONCE:
        return None
    period = _nonce_period(claims.get("nonce"))
    if period is None:
        raise ServiceError("use_dpop_nonce", headers={"DPoP-Nonce": new_nonce()})
    return new_nonce() if period != _current_period() else None


def normalised_uri(url: str) -> str:
    """RFC 9449 §4.3: htu is compared without its query and fragment, after RFC 3986 §6.2.2-6.2.3 normalisation
    (scheme and host in lower case, the default port left out, an empty path as "/")."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def request_uri(request) -> str:
    """The URI the client sent its request to, as its proof names it: SESSIONS_APP["DPOP_ORIGIN"] (the public
    origin, SITE_URL in this project: right behind any proxy) and the request's path, or without it, the origin the
    request itself shows (its Host and scheme, as the proxies in front pass them)."""
    origin = app_settings.DPOP_ORIGIN
    return f"{origin.rstrip('/')}{request.path}" if origin else request.build_absolute_uri(request.path)


def access_token_hash(access_token: str) -> str:
    """`ath`: the base64url SHA-256 of the access token."""
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).decode().rstrip("=")


def _spend(jkt: str, jti: str) -> None:
    """Remember the proof, or refuse it if it was seen before (by any process sharing the cache)."""
    key = _JTI_PREFIX + hashlib.sha256(f"{jkt}:{jti}".encode()).hexdigest()
    # Past the last moment the proof could still be accepted (its iat up to one lifetime ahead), with a margin for
    # servers whose clocks differ a little.
    lifetime = int(2 * app_settings.DPOP_PROOF_LIFETIME.total_seconds()) + 30
    # Fails closed: a proof that cannot be remembered could be replayed.
    first = with_limit_cache(limits.DPOP, lambda: cache.add(key, 1, lifetime), fallback=None)
    if not first:
        raise _invalid("replayed")


def new_nonce(at: float | None = None) -> str:
    """A server nonce (RFC 9449 §8): the current period and an HMAC of it; nothing to store."""
    period = _current_period(at)
    return f"{period}.{_nonce_mac(period)}"


def _current_period(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // NONCE_PERIOD)


def _nonce_mac(period: int) -> str:
    mac = salted_hmac("sessions_app.dpop.nonce", str(period), algorithm="sha256")
    return base64.urlsafe_b64encode(mac.digest()[:16]).decode().rstrip("=")


def _nonce_period(nonce) -> int | None:
    """The period of a nonce this service made that still holds (this period's or the one before), else None."""
    if not isinstance(nonce, str) or not re.fullmatch(r"[0-9]{1,12}\.[A-Za-z0-9_-]{1,32}", nonce):
        return None
    period, _, mac = nonce.partition(".")
    current = _current_period()
    if int(period) in (current, current - 1) and hmac.compare_digest(mac.encode(), _nonce_mac(int(period)).encode()):
        return int(period)
    return None


def _invalid(reason: str) -> ServiceError:
    """400 `invalid_dpop_proof` with what did not hold (`reason`: missing, too_long, malformed, header, jwk,
    signature, jti, iat, htm, htu, ath, key, replayed); a resource request turns it into its 401."""
    return ServiceError("invalid_dpop_proof", data={"reason": reason})
