"""The keys that sign access tokens (sessions_app/signing.py): rotation (a key published before it signs still
verifies the tokens it signed once it stops; removed, its tokens are refused), the JWKS (public parts only, cacheable
as the rotation allows), EdDSA as well as ES256, the shared secret by choice, the development key, the checks that
refuse an unusable set, and the command that makes a key."""
import json

from django.core.management import call_command
from django.test import override_settings
import jwt
import pytest

from sessions_app.checks import check_jwt_settings
from sessions_app.signing import SigningKeyError, load_key_ring, new_private_jwk, thumbprint

from .helpers import claims, me, open_session

pytestmark = pytest.mark.django_db

PUBLIC_MEMBERS = {"kty", "crv", "x", "y", "kid", "alg", "use"}


def signing(settings, keys: list[dict], algorithm: str = "ES256"):
    return override_settings(SESSIONS_APP={**settings.SESSIONS_APP, "SIGNING_KEYS": keys,
                                           "SIGNING_ALGORITHM": algorithm})


def kid_of(access: str) -> str:
    return jwt.get_unverified_header(access)["kid"]


def test_rotating_keys(api, settings, make_user):
    user = make_user(password=None)
    old, new = new_private_jwk(), new_private_jwk()
    with signing(settings, [old]):
        before = open_session(user).access
        assert kid_of(before) == old["kid"]
    # Step 1: the new key published, not yet signing.
    with signing(settings, [old, new]):
        assert kid_of(open_session(user).access) == old["kid"]
        assert [key["kid"] for key in api.get("/.well-known/jwks.json").json()["keys"]] == [old["kid"], new["kid"]]
    # Step 2: it signs; the old one only verifies, the tokens it signed still work.
    with signing(settings, [new, old]):
        after = open_session(user).access
        assert kid_of(after) == new["kid"]
        assert me(api, before).status_code == 200 and me(api, after).status_code == 200
    # Step 3: the old key gone (its tokens expired by then): a token it signed is refused.
    with signing(settings, [new]):
        assert me(api, before).status_code == 401
        assert me(api, after).status_code == 200


def test_the_jwks_has_public_parts_only(api, settings):
    keys = [new_private_jwk("ES256"), new_private_jwk("EdDSA")]
    with signing(settings, keys):
        response = api.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300" and response["Access-Control-Allow-Origin"] == "*"
    published = response.json()["keys"]
    assert [key["kid"] for key in published] == [key["kid"] for key in keys]
    for key, private in zip(published, keys, strict=True):
        assert set(key) <= PUBLIC_MEMBERS and "d" not in key and private["d"] not in json.dumps(key)
        assert key["use"] == "sig" and key["alg"] == private["alg"]
        # What a resource server does with it: a verifying key, usable by PyJWT.
        assert jwt.PyJWK(key).key is not None


def test_an_eddsa_key_signs_and_verifies(api, settings, make_user):
    key = new_private_jwk("EdDSA")
    with signing(settings, [key]):
        access = open_session(make_user(password=None)).access
        assert jwt.get_unverified_header(access)["alg"] == "EdDSA"
        assert me(api, access).status_code == 200


def test_the_shared_secret_by_choice(api, settings, make_user):
    user = make_user(password=None)
    signed_by_a_key = open_session(user).access
    with signing(settings, [], algorithm="HS256"):
        access = open_session(user).access
        header = jwt.get_unverified_header(access)
        assert header["alg"] == "HS256" and header["kid"].startswith("hs256-")
        assert me(api, access).status_code == 200
        # A token from before `kid` (signed with the same secret) still works while the secret signs.
        unnamed = jwt.encode(claims(access), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
        assert me(api, unnamed).status_code == 200
        assert me(api, signed_by_a_key).status_code == 401  # the keys are no longer trusted
        assert api.get("/.well-known/jwks.json").json() == {"keys": []}
    # And back: the shared secret's tokens are refused, even one without a kid.
    assert me(api, unnamed).status_code == 401 and me(api, access).status_code == 401


def test_the_development_key_comes_from_the_secret_key(settings):
    settings.DEBUG = True
    one = load_key_ring(algorithm="ES256", keys=[])
    assert one.derived and one.signing.kid == load_key_ring(algorithm="ES256", keys=[]).signing.kid
    settings.SECRET_KEY = "another-secret-key-" + "x" * 48
    assert load_key_ring(algorithm="ES256", keys=[]).signing.kid != one.signing.kid
    assert load_key_ring(algorithm="EdDSA", keys=[]).signing.algorithm == "EdDSA"
    # Never with DEBUG off, whatever a start-up check missed: nothing is signed or checked.
    settings.DEBUG = False
    with pytest.raises(SigningKeyError):
        load_key_ring(algorithm="ES256", keys="[]")


def check_ids(settings, keys, *, algorithm: str = "ES256", debug: bool = False) -> set[str]:
    settings.DEBUG = debug
    with signing(settings, keys, algorithm):
        return {message.id for message in check_jwt_settings()}


@pytest.mark.parametrize("keys", [
    "not json",
    [{"kty": "RSA", "n": "x", "e": "AQAB", "d": "y"}],  # only P-256 and Ed25519
    [{**new_private_jwk(), "alg": "ES512"}],  # an alg that is not the key's
    [{name: value for name, value in new_private_jwk().items() if name != "d"}],  # a public key cannot sign
    [{**new_private_jwk(), "x": "AAAA"}],  # not a point of the curve
    [{**new_private_jwk(), "kid": ["not", "a", "string"]}],
], ids=["not-json", "rsa", "wrong-alg", "public-only", "broken", "kid-not-a-string"])
def test_an_unusable_key_is_refused(settings, keys):
    assert "sessions_app.E020" in check_ids(settings, keys)


def test_a_key_twice_is_refused(settings):
    key = new_private_jwk()
    assert "sessions_app.E020" in check_ids(settings, [key, dict(key)])


def test_no_key_is_refused_unless_debug(settings):
    assert "sessions_app.E021" in check_ids(settings, [])
    assert check_ids(settings, [], debug=True) == {"sessions_app.W020"}
    assert check_ids(settings, [new_private_jwk()]) == set()


def test_the_command_makes_a_usable_key(capsys):
    call_command("make_signing_key", "--algorithm", "EdDSA")
    key = json.loads(capsys.readouterr().out)
    assert key["kty"] == "OKP" and key["alg"] == "EdDSA" and key["d"]
    ring = load_key_ring(algorithm="EdDSA", keys=[key])
    assert ring.signing.kid == key["kid"] == thumbprint(ring.signing.public_jwk)
