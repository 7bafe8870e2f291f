"""Token introspection (RFC 7662, sessions_app/introspection.py): a resource server with its secret learns whether an
access token is active now; a token whose session ended is inactive at once, before it expires; anything else is
inactive too; a resource server with a wrong secret is refused and audited; the secret is kept hashed."""
import base64
from datetime import UTC, datetime
import json
from urllib.parse import urlencode

from django.core.management import call_command
from django.test import override_settings
import pytest
import time_machine

from authcore.models import SecurityEvent
from authcore.testing import assert_error
from sessions_app.introspection import secret_hash
from sessions_app.signing import new_private_jwk

from .helpers import claims, open_session

pytestmark = pytest.mark.django_db

SECRET = "a-resource-server-secret-of-256-random-bits-000"
URL = "/api/auth/introspect/"


@pytest.fixture(autouse=True)
def billing(settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "INTROSPECTION_CLIENTS": {"billing": secret_hash(SECRET)}}


def basic(client_id: str = "billing", secret: str = SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def introspect(api, token: str, **credentials):
    """As RFC 7662 says: form-encoded, the resource server's credentials as HTTP Basic."""
    return api.post(URL, urlencode({"token": token}), content_type="application/x-www-form-urlencoded",
                    **(credentials or basic()))


@pytest.fixture
def tokens(make_user):
    return open_session(make_user(password=None))


def test_a_live_access_token_is_active(api, tokens):
    answer = introspect(api, tokens.access)
    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    body, signed = answer.json(), claims(tokens.access)
    assert body["active"] is True and body["token_type"] == "Bearer"
    assert body["sub"] == str(tokens.session.user_id) and body["sid"] == str(tokens.session.id)
    assert {name: body[name] for name in ("exp", "iat", "iss", "aud", "jti", "amr", "auth_time")} == \
        {name: signed[name] for name in ("exp", "iat", "iss", "aud", "jti", "amr", "auth_time")}
    # The credentials in a JSON body do as well.
    assert api.post(URL, {"token": tokens.access, "client_id": "billing", "client_secret": SECRET},
                    format="json").json()["active"] is True


def test_an_ended_session_is_inactive_at_once(api, tokens):
    assert api.post("/api/auth/logout/", {"refresh": tokens.refresh}, format="json").status_code == 204
    assert introspect(api, tokens.access).json() == {"active": False}  # the token has not expired
    event = SecurityEvent.objects.get(kind="authn_token_introspected_inactive")
    assert event.details["reason"] == "session_ended" and event.details["client_id"] == "billing"
    assert str(event.session_id) == str(tokens.session.id)


def test_an_inactive_user_is_inactive(api, tokens):
    tokens.session.user.__class__.objects.filter(pk=tokens.session.user_id).update(is_active=False)
    assert introspect(api, tokens.access).json() == {"active": False}


def test_an_expired_token_is_inactive(api, make_user):
    with time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC), tick=False) as clock:
        tokens = open_session(make_user(password=None))
        clock.shift(claims(tokens.access)["exp"] - claims(tokens.access)["iat"] + 1)
        assert introspect(api, tokens.access).json() == {"active": False}


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 4096, "x" * 4097], ids=["garbage", "segments", "long",
                                                                                    "too-long"])
def test_anything_else_is_inactive(api, token):
    assert introspect(api, token).json() == {"active": False}


def test_a_refresh_token_or_a_token_of_a_retired_key_is_inactive(api, tokens, settings):
    assert introspect(api, tokens.refresh).json() == {"active": False}
    with override_settings(SESSIONS_APP={**settings.SESSIONS_APP, "SIGNING_KEYS": [new_private_jwk()]}):
        assert introspect(api, tokens.access).json() == {"active": False}


def test_a_body_over_the_cap_is_a_413_and_a_repeated_field_a_400(api):
    # A form body is capped like a JSON one, before it is parsed.
    assert_error(introspect(api, "x" * (64 * 1024)), 413, "request_too_large")
    repeated = api.post(URL, "token=a&token=b", content_type="application/x-www-form-urlencoded", **basic())
    assert_error(repeated, 400, "parse_error")
    assert_error(api.post(URL, "token=a", content_type="application/x-www-form-urlencoded; charset=rot13",
                          **basic()), 400, "parse_error")


def test_only_session_ends_are_audited(api):
    for token in ("garbage", "a.b.c"):
        assert introspect(api, token).json() == {"active": False}
    assert not SecurityEvent.objects.filter(kind="authn_token_introspected_inactive").exists()


@pytest.mark.parametrize("credentials", [
    basic(secret="wrong"), basic(client_id="stranger"), basic(client_id=""), {},
    {"HTTP_AUTHORIZATION": "Basic not-base64!"}, {"HTTP_AUTHORIZATION": "Bearer " + SECRET},
    {"HTTP_AUTHORIZATION": "Basic é" + "A" * 10}, basic(client_id="bil\x00ling"),
], ids=["wrong-secret", "unknown-client", "no-client-id", "none", "malformed-basic", "bearer", "not-ascii", "nul"])
def test_a_resource_server_must_prove_itself(api, tokens, credentials):
    refused = api.post(URL, urlencode({"token": tokens.access}), content_type="application/x-www-form-urlencoded",
                       **credentials)
    assert_error(refused, 401, "invalid_client")
    assert refused["WWW-Authenticate"] == 'Basic realm="introspection"'
    assert SecurityEvent.objects.filter(kind="authn_introspection_client_fail").count() == 1


def test_the_settings_keep_only_a_hash(capsys, api, tokens, settings):
    call_command("make_introspection_client", "reports")
    secret_line, entry_line = capsys.readouterr().out.splitlines()
    secret = secret_line.split(": ", 1)[1]
    entry = json.loads(entry_line.split(": ", 1)[1])
    assert entry == {"reports": secret_hash(secret)} and secret not in entry_line
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "INTROSPECTION_CLIENTS": entry}
    assert introspect(api, tokens.access, **basic("reports", secret)).json()["active"] is True


def test_wrong_secrets_never_hold_up_the_right_one(api, tokens, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"introspect_auth": {"ip": "2/m"}}}
    statuses = [api.post(URL, urlencode({"token": tokens.access}), content_type="application/x-www-form-urlencoded",
                         **basic(secret="wrong")).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]  # the network's failures have their budget
    assert introspect(api, tokens.access).json()["active"] is True  # the right secret, from the same network
    # One way of authenticating at a time (RFC 6749 §2.3).
    both = api.post(URL, urlencode({"token": tokens.access, "client_id": "billing", "client_secret": SECRET}),
                     content_type="application/x-www-form-urlencoded", **basic())
    assert_error(both, 401, "invalid_client")


def test_each_resource_server_has_its_budget(api, tokens, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"introspect_client": {"account": "3/m"}}}
    assert introspect(api, tokens.access).status_code == 200
    assert introspect(api, tokens.access).status_code == 200
    # A wrong secret sent with the same id does not spend it: refused before the budget is looked at.
    assert_error(api.post(URL, {"token": tokens.access}, **basic(secret="wrong")), 401, "invalid_client")
    assert introspect(api, tokens.access).status_code == 200
    assert_error(introspect(api, tokens.access), 429, "rate_limited")
