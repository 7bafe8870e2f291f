"""Access tokens (docs/security.md 14-18): ES256 JWTs naming their key (`kid`), with the minimal claims, 5 minutes,
exp enforced without leeway, one algorithm per key, iss and aud checked, only access-type tokens authenticate, and
every 401 is the `token_not_valid` envelope with a WWW-Authenticate challenge."""
import base64
from dataclasses import dataclass
from datetime import UTC, datetime
import hashlib
import hmac
import json
import warnings

from cryptography.hazmat.primitives import serialization
from django.conf import settings
import jwt
import pytest
import time_machine

from authcore.testing import assert_error
from sessions_app.signing import key_ring, load_key_ring, new_private_jwk

from .helpers import claims, me, open_session, sign

pytestmark = pytest.mark.django_db

MINIMAL_CLAIMS = {"sub", "sid", "jti", "iat", "exp", "iss", "aud", "token_type", "amr", "auth_time"}
START = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def tokens(make_user):
    return open_session(make_user(password=None))


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assert_rejected(response) -> None:
    assert_error(response, 401, "token_not_valid")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_access_token_is_es256_naming_its_key_with_exactly_the_minimal_claims(tokens):
    assert jwt.get_unverified_header(tokens.access) == {"alg": "ES256", "typ": "JWT", "kid": key_ring().signing.kid}
    payload = claims(tokens.access)
    # Nothing else, and so nothing derived from the password (simplejwt can add a password-hash claim).
    assert set(payload) == MINIMAL_CLAIMS
    assert payload["sub"] == str(tokens.session.user_id)
    assert payload["sid"] == str(tokens.session.id)
    assert payload["token_type"] == "access"
    assert payload["aud"] == settings.SIMPLE_JWT["AUDIENCE"] == "auth-service"
    assert payload["iss"] == settings.SIMPLE_JWT["ISSUER"]
    assert len(payload["jti"]) == 32


def test_access_token_lives_300_seconds_by_default(tokens):
    payload = claims(tokens.access)
    assert payload["exp"] - payload["iat"] == 300
    assert tokens.expires_in == 300


def test_a_valid_access_token_authenticates(api, tokens):
    response = me(api, tokens.access)
    assert response.status_code == 200
    assert response.json()["id"] == str(tokens.session.user_id)


def test_exp_is_enforced_without_leeway(api, make_user):
    with time_machine.travel(START, tick=False) as clock:
        tokens = open_session(make_user(password=None))
        exp = claims(tokens.access)["exp"]
        clock.move_to(datetime.fromtimestamp(exp - 1, UTC))
        assert me(api, tokens.access).status_code == 200
        clock.move_to(datetime.fromtimestamp(exp + 1, UTC))
        assert_rejected(me(api, tokens.access))


def test_missing_header_is_not_authenticated_with_a_challenge(api):
    response = api.get("/api/auth/me/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_other_authorization_schemes_are_not_credentials(api):
    response = api.get("/api/auth/me/", HTTP_AUTHORIZATION="Basic YWxpY2U6c2VjcmV0")
    assert_error(response, 401, "not_authenticated")


@dataclass(frozen=True)
class Valid:
    """What a forgery is built from: the valid access token's claims and segments, and the refresh token."""

    claims: dict
    header: str
    payload: str
    signature: str
    refresh: str

    def without(self, name: str) -> dict:
        return {key: value for key, value in self.claims.items() if key != name}


def sign_quietly(payload: dict, algorithm: str, key) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT's key-length and key-format warnings
        return sign(payload, algorithm=algorithm, key=key)


def hmac_with_the_public_key(valid) -> str:
    """PyJWT refuses to make this one (rightly): made by hand, keyed with the PEM of the service's public key."""
    own = key_ring().signing
    header = b64({"alg": "HS256", "typ": "JWT", "kid": own.kid})
    pem = own.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    mac = hmac.new(pem, f"{header}.{valid.payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{valid.payload}.{b64(mac)}"


def another_key(algorithm: str = "ES256"):
    """A private key that is none of the service's."""
    return load_key_ring(algorithm=algorithm, keys=[new_private_jwk(algorithm)]).signing.private


FORGERS = {
    "alg_none": lambda valid: f"{b64({'alg': 'none', 'typ': 'JWT'})}.{valid.payload}.",
    "alg_none_with_key": lambda valid: jwt.encode(valid.claims, None, algorithm="none"),
    "HS256_shared_secret": lambda valid: sign_quietly(valid.claims, "HS256", settings.SIMPLE_JWT["SIGNING_KEY"]),
    "HS384": lambda valid: sign_quietly(valid.claims, "HS384", settings.SIMPLE_JWT["SIGNING_KEY"]),
    # RFC 8725 §2.1: HMAC keyed with the public key, which anyone has from the JWKS.
    "HS256_keyed_with_the_public_key": lambda valid: hmac_with_the_public_key(valid),
    "wrong_key": lambda valid: sign(valid.claims, key=another_key()),
    "unknown_kid": lambda valid: sign(valid.claims, headers={"kid": "not-a-key-of-ours"}),
    "no_kid": lambda valid: jwt.encode(valid.claims, key_ring().signing.private, algorithm="ES256"),
    "kid_not_a_string": lambda valid: (
        f"{b64({'alg': 'ES256', 'typ': 'JWT', 'kid': ['a', 'list']})}.{valid.payload}.{valid.signature}"),
    "EdDSA_own_kid": lambda valid: sign(valid.claims, key=another_key("EdDSA"), algorithm="EdDSA"),
    "wrong_audience": lambda valid: sign({**valid.claims, "aud": "someone-else"}),
    "no_audience": lambda valid: sign(valid.without("aud")),
    "wrong_issuer": lambda valid: sign({**valid.claims, "iss": "https://evil.example"}),
    "no_issuer": lambda valid: sign(valid.without("iss")),
    "no_exp": lambda valid: sign(valid.without("exp")),
    "refresh_type": lambda valid: sign({**valid.claims, "token_type": "refresh"}),
    "no_token_type": lambda valid: sign(valid.without("token_type")),
    "no_session": lambda valid: sign(valid.without("sid")),
    "malformed_session": lambda valid: sign({**valid.claims, "sid": "not-a-uuid"}),
    "tampered_payload": lambda valid: (
        f"{valid.header}.{b64({**valid.claims, 'sub': '00000000-0000-0000-0000-000000000000'})}.{valid.signature}"),
    "stripped_signature": lambda valid: f"{valid.header}.{valid.payload}.",
    "two_segments": lambda valid: f"{valid.header}.{valid.payload}",
    "opaque_refresh_token": lambda valid: valid.refresh,
    "garbage": lambda valid: "garbage",
    "three_garbage_segments": lambda valid: "a.b.c",
}
FORGERIES = list(FORGERS)


def forge(kind: str, tokens) -> str:
    """A token that must be refused, built from the valid one."""
    header, payload, signature = tokens.access.split(".")
    return FORGERS[kind](Valid(claims(tokens.access), header, payload, signature, tokens.refresh))


@pytest.mark.parametrize("kind", FORGERIES)
def test_forged_or_wrong_tokens_are_rejected(api, tokens, kind):
    forged = forge(kind, tokens)
    assert forged != tokens.access
    assert_rejected(me(api, forged))
    # The valid token still works: the rejection is about the forgery, not the session.
    assert me(api, tokens.access).status_code == 200


def test_a_valid_token_for_another_users_session_is_rejected(api, make_user, tokens):
    other = open_session(make_user("bob@example.com", password=None))
    mixed = sign({**claims(tokens.access), "sid": str(other.session.id)})
    assert_rejected(me(api, mixed))


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer  "])
def test_malformed_bearer_headers_are_rejected(api, header):
    response = api.get("/api/auth/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] in {"token_not_valid", "not_authenticated"}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_access_token_is_not_accepted_as_a_refresh_token(api, tokens):
    response = api.post("/api/auth/refresh/", {"refresh": tokens.access})
    body = assert_error(response, 400, "invalid")  # longer than any refresh token
    assert body["errors"][0]["field"] == "refresh"
    assert me(api, tokens.access).status_code == 200
