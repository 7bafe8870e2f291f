"""The cache of verified access tokens (sessions_app.tokens.VerifiedTokens): a token's signature is checked once per
process; exp, the session and the key ring are still checked at every use."""
from datetime import UTC, datetime

from django.test import override_settings
import jwt
import pytest
import time_machine

from sessions_app.signing import new_private_jwk
from sessions_app.tokens import VerifiedTokens, verified_tokens

from .helpers import claims, me, open_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def signature_checks(monkeypatch):
    """How many times PyJWT verified a token (a spy: the real function runs)."""
    calls = []
    real_decode = jwt.decode

    def counting_decode(*args, **kwargs):
        calls.append(args[0])
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    return calls


def test_a_token_is_verified_once_and_then_taken_from_the_cache(api, make_user, signature_checks):
    tokens = open_session(make_user(password=None))
    assert me(api, tokens.access).status_code == 200
    assert me(api, tokens.access).status_code == 200
    assert me(api, tokens.access).status_code == 200
    assert len(signature_checks) == 1


def test_a_cached_token_still_expires(api, make_user):
    with time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC), tick=False) as clock:
        tokens = open_session(make_user(password=None))
        assert me(api, tokens.access).status_code == 200
        clock.move_to(datetime.fromtimestamp(claims(tokens.access)["exp"], UTC))
        assert me(api, tokens.access).status_code == 401  # exp is not in the past: PyJWT's own rule, exp <= now


def test_a_cached_token_of_an_ended_session_is_refused_at_once(api, make_user):
    tokens = open_session(make_user(password=None))
    assert me(api, tokens.access).status_code == 200
    assert api.post("/api/auth/logout/", {"refresh": tokens.refresh}, format="json").status_code == 204
    assert me(api, tokens.access).status_code == 401


def test_a_new_key_ring_is_a_miss(api, settings, make_user, signature_checks):
    """Entries belong to the key ring they were verified with: once the token's key is retired, its cached
    verification counts for nothing."""
    old, new = new_private_jwk(), new_private_jwk()
    with override_settings(SESSIONS_APP={**settings.SESSIONS_APP, "SIGNING_KEYS": [old]}):
        tokens = open_session(make_user(password=None))
        assert me(api, tokens.access).status_code == 200
    with override_settings(SESSIONS_APP={**settings.SESSIONS_APP, "SIGNING_KEYS": [new]}):
        assert me(api, tokens.access).status_code == 401
    assert len(signature_checks) == 1  # the second time, the key named by kid was not even there to verify with


def test_tokens_that_fail_are_never_remembered(api, make_user):
    tokens = open_session(make_user(password=None))
    header, payload, signature = tokens.access.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert me(api, forged).status_code == 401
    assert verified_tokens.get(forged.encode(), None) is None and len(verified_tokens._entries) == 0


def test_the_cache_is_bounded_oldest_out_first(monkeypatch):
    cache = VerifiedTokens()
    monkeypatch.setattr(VerifiedTokens, "MAX_ENTRIES", 3)
    ring = object()
    for index in range(5):
        cache.remember(f"token-{index}", ring, {"exp": 2_000_000_000})
    assert list(cache._entries) == ["token-2", "token-3", "token-4"]
    assert cache.get("token-4", ring) == {"exp": 2_000_000_000}
    assert cache.get("token-4", object()) is None  # another ring


def test_what_the_caller_gets_is_a_copy(api, make_user):
    """simplejwt's Token keeps the dict it is given and may set claims on it: a cached entry must not change."""
    tokens = open_session(make_user(password=None))
    assert me(api, tokens.access).status_code == 200
    (ring, cached), = verified_tokens._entries.values()
    before = dict(cached)
    from sessions_app.tokens import KeyRingBackend

    payload = KeyRingBackend().decode(tokens.access)
    payload["sub"] = "someone else"
    payload["amr"].append("mfa")  # the lists and objects in the claims too
    assert cached == before and KeyRingBackend().decode(tokens.access)["amr"] == ["pwd"]
