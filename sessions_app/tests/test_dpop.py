"""Sender-constrained tokens (DPoP, RFC 9449; sessions_app/dpop.py), with a real client (dpop_client.py, joserfc):
a login with a proof binds the session to the client's key; its access tokens say so (`cnf.jkt`, type DPoP) and
work only as `DPoP` with a fresh proof by that key, for this method, URL and token, never twice; its refresh token
works only with a proof by that key, and a replayed refresh still ends the family. Bearer tokens keep working where
DPoP is optional; where it is required, nothing works without a proof. Server nonces when asked for."""
import time

import jwt
import pytest
import time_machine

from accounts.testing import LOGIN_URL
from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app import dpop
from sessions_app.models import Session

from .dpop_client import DPoPKey
from .helpers import claims

pytestmark = pytest.mark.django_db

ME = "/api/auth/me/"
REFRESH = "/api/auth/refresh/"


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey()


def log_in(api, key: DPoPKey | None = None, **headers):
    extra = key.headers("POST", LOGIN_URL) if key else {}
    return api.post(LOGIN_URL, {"email": "alice@example.com", "password": PASSWORD}, format="json",
                    **extra, **headers)


@pytest.fixture
def bound(api, user, key) -> dict:
    """A login with a proof: the session and its tokens are bound to `key`."""
    answer = log_in(api, key)
    assert answer.status_code == 200, answer.content
    return answer.json()


def me(api, key: DPoPKey, access: str, **options):
    return api.get(ME, **key.headers("GET", ME, access_token=access, **options))


def test_a_login_with_a_proof_binds_the_session(bound, key):
    assert bound["token_type"] == "DPoP"
    assert claims(bound["access"])["cnf"] == {"jkt": key.thumbprint}
    assert Session.objects.get(pk=bound["session_id"]).dpop_jkt == key.thumbprint


def test_a_bound_token_works_only_with_a_fresh_proof_by_its_key(api, bound, key):
    access = bound["access"]
    assert me(api, key, access).status_code == 200
    refusals = {
        "as a bearer token": api.get(ME, **bearer(access)),
        "without a proof": api.get(ME, HTTP_AUTHORIZATION=f"DPoP {access}"),
        "a proof by another key": me(api, DPoPKey(), access),
        "a proof for another method": api.get(ME, **{**key.headers("POST", ME, access_token=access)}),
        "a proof for another URL": api.get(ME, **key.headers("GET", "/api/auth/sessions/", access_token=access)),
        "a proof for another token": api.get(ME, HTTP_AUTHORIZATION=f"DPoP {access}",
                                             HTTP_DPOP=key.proof("GET", ME, access_token=access + "x")),
        "a proof made long ago": me(api, key, access, iat=int(time.time()) - 600),
        "a proof of another type": me(api, key, access, header={"typ": "JWT"}),
    }
    for what, answer in refusals.items():
        assert answer.status_code == 401, what
        assert answer.json()["code"] == "token_not_valid", what
        assert answer["WWW-Authenticate"].startswith("DPoP "), what
    assert 'error="invalid_dpop_proof"' in refusals["a proof by another key"]["WWW-Authenticate"]
    assert 'error="invalid_token"' in refusals["as a bearer token"]["WWW-Authenticate"]


def test_a_proof_works_once(api, bound, key):
    headers = key.headers("GET", ME, access_token=bound["access"])
    assert api.get(ME, **headers).status_code == 200
    replayed = api.get(ME, **headers)
    assert replayed.status_code == 401 and 'error="invalid_dpop_proof"' in replayed["WWW-Authenticate"]


def test_eddsa_keys_too(api, user):
    key = DPoPKey("EdDSA")
    answer = log_in(api, key).json()
    assert me(api, key, answer["access"]).status_code == 200


def test_a_bound_refresh_token_needs_its_key(api, bound, key):
    refresh = {"refresh": bound["refresh"]}
    assert_error(api.post(REFRESH, refresh, format="json"), 400, "invalid_dpop_proof")
    assert_error(api.post(REFRESH, refresh, format="json", **DPoPKey().headers("POST", REFRESH)), 400,
                 "invalid_dpop_proof")
    # Refused, not spent: with its key the client goes on.
    renewed = api.post(REFRESH, refresh, format="json", **key.headers("POST", REFRESH))
    assert renewed.status_code == 200, renewed.content
    assert renewed.json()["token_type"] == "DPoP" and claims(renewed.json()["access"])["cnf"] == {"jkt": key.thumbprint}
    # A replay of the spent token ends the family, with or without the key.
    assert_error(api.post(REFRESH, refresh, format="json", **key.headers("POST", REFRESH)), 401,
                 "refresh_token_reused")
    assert not Session.objects.get(pk=bound["session_id"]).is_alive()


def test_a_replayed_refresh_without_the_key_still_ends_the_family(api, bound, key):
    assert api.post(REFRESH, {"refresh": bound["refresh"]}, format="json",
                    **key.headers("POST", REFRESH)).status_code == 200
    assert_error(api.post(REFRESH, {"refresh": bound["refresh"]}, format="json"), 401, "refresh_token_reused")
    assert not Session.objects.get(pk=bound["session_id"]).is_alive()


def test_a_token_that_does_not_hold_is_challenged_in_the_scheme_it_came_in(api, bound, key):
    api.post("/api/auth/logout/", {"refresh": bound["refresh"]}, format="json",
             **key.headers("POST", "/api/auth/logout/"))
    for token in (bound["access"], "not-a-token"):  # its session ended; not a token at all
        refused = me(api, key, token)
        assert_error(refused, 401, "token_not_valid")
        assert refused["WWW-Authenticate"] == 'DPoP error="invalid_token", algs="ES256 EdDSA"'


def test_bearer_tokens_keep_working_where_dpop_is_optional(api, user):
    answer = log_in(api).json()
    assert answer["token_type"] == "Bearer" and "cnf" not in claims(answer["access"])
    assert api.get(ME, **bearer(answer["access"])).status_code == 200


def test_where_dpop_is_required_nothing_works_without_a_proof(api, user, key, settings):
    unbound = log_in(api).json()
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "DPOP": "required"}
    assert_error(log_in(api), 400, "invalid_dpop_proof")
    as_bearer = api.get(ME, **bearer(unbound["access"]))
    assert as_bearer.status_code == 401 and as_bearer["WWW-Authenticate"].startswith('DPoP error="invalid_token"')
    # Without credentials, the challenge names the scheme to use (RFC 9449 §7.1), not Bearer; with a token that
    # does not hold, it says so too.
    assert api.get(ME)["WWW-Authenticate"] == 'DPoP algs="ES256 EdDSA"'
    not_ours = me(api, key, "not-a-token")
    assert not_ours["WWW-Authenticate"] == 'DPoP error="invalid_token", algs="ES256 EdDSA"'
    assert_error(api.post(REFRESH, {"refresh": unbound["refresh"]}, format="json"), 400, "invalid_dpop_proof")
    answer = log_in(api, key).json()
    assert me(api, key, answer["access"]).status_code == 200


def test_server_nonces(api, user, key, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "DPOP_NONCE": True}
    refused = log_in(api, key)
    assert_error(refused, 400, "use_dpop_nonce")
    nonce = refused["DPoP-Nonce"]
    answer = api.post(LOGIN_URL, {"email": "alice@example.com", "password": PASSWORD}, format="json",
                      **key.headers("POST", LOGIN_URL, nonce=nonce))
    assert answer.status_code == 200, answer.content
    access = answer.json()["access"]
    asked = me(api, key, access)
    assert asked.status_code == 401 and 'error="use_dpop_nonce"' in asked["WWW-Authenticate"]
    assert me(api, key, access, nonce=asked["DPoP-Nonce"]).status_code == 200
    # A nonce of the current period the server did not make: its MAC is what refuses it.
    forged = f"{asked['DPoP-Nonce'].split('.')[0]}.{'A' * 22}"
    assert me(api, key, access, nonce=forged).status_code == 401


def test_a_nonce_about_to_stop_holding_is_replaced_with_the_answer(api, user, key, settings):
    """A nonce holds for its period and the next: used in the next, the answer (a success) hands out a fresh one
    (RFC 9449 §8.2), at the token endpoints and the API alike, so the client is not refused first. A nonce of the
    current period gets none."""
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "DPOP_NONCE": True}
    start = (time.time() // dpop.NONCE_PERIOD + 1) * dpop.NONCE_PERIOD - 10  # 10 s before a period ends
    with time_machine.travel(start, tick=False) as clock:
        nonce = dpop.new_nonce()
        answer = api.post(LOGIN_URL, {"email": "alice@example.com", "password": PASSWORD}, format="json",
                          **key.headers("POST", LOGIN_URL, nonce=nonce))
        assert answer.status_code == 200 and "DPoP-Nonce" not in answer
        access = answer.json()["access"]
        assert "DPoP-Nonce" not in me(api, key, access, nonce=nonce)

        clock.shift(20)  # the next period: the nonce still holds, for this period only
        asked = me(api, key, access, nonce=nonce)
        assert asked.status_code == 200 and asked["DPoP-Nonce"] == dpop.new_nonce() != nonce
        # Any DRF view with this authentication, not only the apps' own (the schema's: a plain APIView).
        schema = api.get("/api/schema/", **key.headers("GET", "/api/schema/", access_token=access, nonce=nonce))
        assert schema.status_code == 200 and schema["DPoP-Nonce"] == asked["DPoP-Nonce"]
        refreshed = api.post(REFRESH, {"refresh": answer.json()["refresh"]}, format="json",
                             **key.headers("POST", REFRESH, nonce=nonce))
        assert refreshed.status_code == 200 and refreshed["DPoP-Nonce"] == asked["DPoP-Nonce"]
        assert "DPoP-Nonce" not in me(api, key, refreshed.json()["access"], nonce=asked["DPoP-Nonce"])
        # An error answers with it too: a session ended, a wrong password.
        api.post("/api/auth/logout/", {"refresh": refreshed.json()["refresh"]}, format="json",
                 **key.headers("POST", "/api/auth/logout/", nonce=nonce))
        ended = me(api, key, refreshed.json()["access"], nonce=nonce)
        assert ended.status_code == 401 and ended["DPoP-Nonce"] == asked["DPoP-Nonce"]
        wrong = api.post(LOGIN_URL, {"email": "alice@example.com", "password": "not it"}, format="json",
                         **key.headers("POST", LOGIN_URL, nonce=nonce))
        assert_error(wrong, 401, "invalid_credentials")
        assert wrong["DPoP-Nonce"] == asked["DPoP-Nonce"]

        clock.shift(dpop.NONCE_PERIOD)  # two periods on: the first nonce no longer holds
        assert_error(api.post(LOGIN_URL, {"email": "alice@example.com", "password": PASSWORD}, format="json",
                              **key.headers("POST", LOGIN_URL, nonce=nonce)), 400, "use_dpop_nonce")


@pytest.mark.parametrize("proof", [
    "garbage", "a.b.c", "x" * 5000,
], ids=["garbage", "segments", "too-long"])
def test_malformed_proofs_are_refused_not_500(api, user, proof):
    assert_error(log_in(api, HTTP_DPOP=proof), 400, "invalid_dpop_proof")


@pytest.mark.parametrize("change", [
    {"header": {"jwk": {"kty": "EC", "crv": "P-256", "x": 1, "y": {"a": 1}}}},
    {"header": {"jwk": {"kty": "EC", "crv": "P-256", "x": "é", "y": "AAAA"}}},
    {"iat": float("nan")}, {"iat": 10 ** 400}, {"iat": True}, {"iat": "now"},
    {"iat": int(time.time()) + 3600},  # made for later
    {"jti": "\ud800"}, {"jti": 42}, {"htu": ["a"]}, {"htm": None},
], ids=["jwk-types", "jwk-not-ascii", "iat-nan", "iat-huge", "iat-bool", "iat-text", "iat-future", "jti-surrogate",
        "jti-number", "htu-list", "htm-null"])
def test_odd_proofs_are_refused_not_500(api, user, key, change):
    """Made by hand (PyJWT), since a proper client makes none of these."""
    body = {"jti": "odd", "htm": "POST", "htu": "http://testserver" + LOGIN_URL, "iat": int(time.time())}
    header = {"typ": "dpop+jwt", "jwk": key.public_jwk, **change.pop("header", {})}
    try:
        proof = jwt.encode({**body, **change}, key.key.as_pem(private=True), algorithm="ES256", headers=header)
    except (TypeError, ValueError, OverflowError):
        pytest.skip("PyJWT cannot write this one")
    assert_error(log_in(api, HTTP_DPOP=proof), 400, "invalid_dpop_proof")


def test_htu_is_compared_normalised(api, user, key):
    """Scheme and host in any case, the default port written or not: the same URI (RFC 3986 §6.2.2-6.2.3)."""
    for htu in ("HTTP://TestServer" + LOGIN_URL, "http://testserver:80" + LOGIN_URL):
        answer = log_in(api, HTTP_DPOP=key.proof("POST", LOGIN_URL, htu=htu))
        assert answer.status_code == 200, (htu, answer.content)
    assert_error(log_in(api, HTTP_DPOP=key.proof("POST", LOGIN_URL, htu="https://testserver" + LOGIN_URL)), 400,
                 "invalid_dpop_proof")


def test_a_bearer_session_refreshed_with_a_proof_is_bound_from_then_on(api, user, key):
    """RFC 9449 §5: a public client's refresh token is bound; the first refresh with a proof binds it."""
    unbound = log_in(api).json()
    renewed = api.post(REFRESH, {"refresh": unbound["refresh"]}, format="json", **key.headers("POST", REFRESH))
    assert renewed.status_code == 200 and renewed.json()["token_type"] == "DPoP"
    assert Session.objects.get(pk=unbound["session_id"]).dpop_jkt == key.thumbprint
    assert_error(api.post(REFRESH, {"refresh": renewed.json()["refresh"]}, format="json"), 400, "invalid_dpop_proof")


def test_a_reauthentication_and_a_password_change_keep_the_binding(api, bound, key):
    access = bound["access"]
    proven = api.post("/api/auth/reauthenticate/", {"password": PASSWORD}, format="json",
                      **key.headers("POST", "/api/auth/reauthenticate/", access_token=access))
    assert proven.status_code == 200, proven.content
    assert proven.json()["token_type"] == "DPoP" and claims(proven.json()["access"])["cnf"] == {"jkt": key.thumbprint}
    changed = api.post("/api/auth/change-password/", {"current_password": PASSWORD,
                                                       "new_password": "a brand new passphrase here"},
                       format="json", **key.headers("POST", "/api/auth/change-password/", access_token=access))
    assert changed.status_code == 200, changed.content
    assert changed.json()["token_type"] == "DPoP"
    assert Session.objects.get(pk=changed.json()["session_id"]).dpop_jkt == key.thumbprint


def odd_proof(key: DPoPKey, *, header: dict, algorithm: str = "ES256", secret=None) -> str:
    """A proof no proper client makes, made with PyJWT (which puts any header in)."""
    body = {"jti": "odd-" + str(time.time()), "htm": "POST", "htu": "http://testserver" + LOGIN_URL,
            "iat": int(time.time())}
    signing_key = secret if secret is not None else key.key.as_pem(private=True)
    return jwt.encode(body, signing_key, algorithm=algorithm,
                      headers={"typ": "dpop+jwt", "jwk": key.public_jwk, **header})


def test_a_proof_with_a_private_key_or_a_wrong_algorithm_is_refused(api, user, key):
    proofs = {
        "a private key in the header": odd_proof(key, header={"jwk": key.key.as_dict(private=True)}),
        "HMAC": odd_proof(key, header={}, algorithm="HS256", secret="s" * 32),
        "a jwk of another curve": odd_proof(key, header={"jwk": {**key.public_jwk, "crv": "P-384"}}),
        "no jwk": odd_proof(key, header={"jwk": None}),
    }
    for what, proof in proofs.items():
        answer = log_in(api, HTTP_DPOP=proof)
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_dpop_proof", what
    # The same maker's proper proof is accepted: the refusals were about what was wrong.
    assert log_in(api, HTTP_DPOP=odd_proof(key, header={})).status_code == 200


def test_introspection_says_a_bound_token_is_dpop(api, bound, key, settings):
    from sessions_app.introspection import secret_hash
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "INTROSPECTION_CLIENTS": {"rs": secret_hash("s" * 43)}}
    answer = api.post("/api/auth/introspect/", {"token": bound["access"], "client_id": "rs",
                                                "client_secret": "s" * 43}, format="json").json()
    assert answer["token_type"] == "DPoP" and answer["cnf"] == {"jkt": key.thumbprint}


def test_a_clients_key_is_loaded_once_for_all_its_proofs(api, bound, key, monkeypatch):
    """Loading the key a proof carries (a point checked to be on the curve) is done once per key, not per proof; the
    signature is still verified for every proof, and another key is loaded for its own."""
    from sessions_app import dpop

    dpop._public_key.cache_clear()
    loads, proofs_verified = [], []
    real_pyjwk, real_decode = jwt.PyJWK, jwt.decode

    def counting_decode(token, *args, **kwargs):
        if jwt.get_unverified_header(token).get("typ") == "dpop+jwt":
            proofs_verified.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "PyJWK", lambda *args, **kwargs: loads.append(args) or real_pyjwk(*args, **kwargs))
    monkeypatch.setattr(jwt, "decode", counting_decode)
    for _ in range(3):
        assert me(api, key, bound["access"]).status_code == 200
    assert len(loads) == 1
    assert len(proofs_verified) == 3
    assert me(api, DPoPKey(), bound["access"]).status_code == 401  # another key: loaded, refused as not the token's
    assert len(loads) == 2
