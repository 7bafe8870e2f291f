"""The OAuth provider harness behaves like a real provider, checked with a plain Authlib client (nothing from the
connections app), so a failing connections test points at the app and not at its test double."""
import time
from urllib.parse import parse_qs, urlsplit

from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from joserfc import jwt
from joserfc.jwk import KeySet
import pytest
import requests

from connections.tests.oauth_provider import OAuthProvider

REDIRECT_URI = "https://client.example.test/callback"


@pytest.fixture(scope="module")
def provider():
    started = OAuthProvider.start([REDIRECT_URI])
    try:
        yield started
    finally:
        started.stop()


def client(provider: OAuthProvider) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.client_id, client_secret=provider.client_secret, scope="openid read",
        redirect_uri=REDIRECT_URI, code_challenge_method="S256",
    )


def query(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def connect(provider: OAuthProvider) -> tuple[OAuth2Session, dict]:
    """A complete authorization code flow with PKCE and state; returns the client and its tokens."""
    session = client(provider)
    verifier = generate_token(64)
    url, state = session.create_authorization_url(provider.authorization_endpoint, code_verifier=verifier)
    location = provider.authorize(url)
    assert location.startswith(REDIRECT_URI + "?"), location
    token = session.fetch_token(provider.token_endpoint, authorization_response=location, state=state,
                                code_verifier=verifier)
    return session, dict(token)


def assert_invalid_grant(session: OAuth2Session, provider: OAuthProvider, refresh_token: str) -> None:
    with pytest.raises(OAuthError) as refused:
        session.refresh_token(provider.token_endpoint, refresh_token=refresh_token)
    assert refused.value.error == "invalid_grant"


def test_code_flow_with_pkce_and_state_issues_tokens_and_a_signed_id_token(provider):
    session = client(provider)
    verifier = generate_token(64)
    url, state = session.create_authorization_url(provider.authorization_endpoint, code_verifier=verifier)

    location = provider.authorize(url)

    returned = query(location)
    assert location.startswith(REDIRECT_URI + "?")
    assert returned["state"] == state
    assert returned["iss"] == provider.issuer  # RFC 9207
    token = session.fetch_token(provider.token_endpoint, authorization_response=location, state=state,
                                code_verifier=verifier)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert set(token["scope"].split()) == {"openid", "read"}
    assert token["access_token"] and token["refresh_token"]
    assert provider.accepts(token["access_token"])
    me = requests.get(provider.resource_url, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=5)
    assert me.json() == {"username": provider.username}

    keys = KeySet.import_key_set(requests.get(provider.jwks_uri, timeout=5).json())
    id_token = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": provider.client_id},
        sub={"essential": True},
        exp={"essential": True},
    ).validate(id_token.claims)


def test_the_code_is_useless_without_its_verifier(provider):
    session = client(provider)
    verifier = generate_token(64)
    url, state = session.create_authorization_url(provider.authorization_endpoint, code_verifier=verifier)
    location = provider.authorize(url)

    with pytest.raises(OAuthError) as refused:
        session.fetch_token(provider.token_endpoint, authorization_response=location, state=state,
                            code_verifier=generate_token(64))
    assert refused.value.error == "invalid_grant"


def test_an_authorization_request_without_pkce_is_refused(provider):
    url, state = client(provider).create_authorization_url(provider.authorization_endpoint)  # no verifier

    returned = query(provider.authorize(url))

    assert returned["error"] == "invalid_request"
    assert returned["state"] == state


def test_denying_consent_redirects_with_access_denied(provider):
    url, state = client(provider).create_authorization_url(provider.authorization_endpoint,
                                                            code_verifier=generate_token(64))

    location = provider.authorize(url, approve=False)

    returned = query(location)
    assert location.startswith(REDIRECT_URI + "?")
    assert returned["error"] == "access_denied"
    assert returned["state"] == state
    assert "code" not in returned


def test_refresh_rotates_the_refresh_token_and_a_replay_revokes_the_family(provider):
    session, first = connect(provider)

    second = dict(session.refresh_token(provider.token_endpoint, refresh_token=first["refresh_token"]))

    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert provider.accepts(second["access_token"])
    assert not provider.accepts(first["access_token"])
    assert_invalid_grant(session, provider, first["refresh_token"])
    # Reuse protection: the replay above revoked every token descended from the same grant.
    assert not provider.accepts(second["access_token"])
    assert_invalid_grant(session, provider, second["refresh_token"])


def test_revoking_the_grant_at_the_provider_makes_refresh_fail(provider):
    session, token = connect(provider)

    provider.revoke_grant()

    assert not provider.accepts(token["access_token"])
    assert_invalid_grant(session, provider, token["refresh_token"])
    session, token = connect(provider)  # a new consent works again
    assert provider.accepts(token["access_token"])


def test_revoking_the_access_token_rfc7009_revokes_its_refresh_token_too(provider):
    session, token = connect(provider)

    response = session.revoke_token(provider.revocation_endpoint, token=token["access_token"],
                                    token_type_hint="access_token")

    assert response.status_code == 200
    assert not provider.accepts(token["access_token"])
    assert_invalid_grant(session, provider, token["refresh_token"])


def test_revoking_the_refresh_token_rfc7009_revokes_its_access_token_too(provider):
    session, token = connect(provider)

    response = session.revoke_token(provider.revocation_endpoint, token=token["refresh_token"],
                                    token_type_hint="refresh_token")

    assert response.status_code == 200
    assert not provider.accepts(token["access_token"])
    assert_invalid_grant(session, provider, token["refresh_token"])


def test_discovery_lists_the_endpoints(provider):
    oidc = requests.get(provider.discovery_url, timeout=5).json()
    assert oidc["issuer"] == provider.issuer
    assert oidc["authorization_endpoint"] == provider.authorization_endpoint
    assert oidc["token_endpoint"] == provider.token_endpoint
    assert oidc["jwks_uri"] == provider.jwks_uri
    assert oidc["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in oidc["id_token_signing_alg_values_supported"]
    assert {"openid", "read", "write"} <= set(oidc["scopes_supported"])

    oauth = requests.get(provider.metadata_url, timeout=5).json()  # RFC 8414 names the revocation endpoint
    assert oauth["issuer"] == provider.issuer
    assert oauth["revocation_endpoint"] == provider.revocation_endpoint
    assert oauth["token_endpoint"] == provider.token_endpoint
    assert [key["alg"] for key in requests.get(provider.jwks_uri, timeout=5).json()["keys"]] == ["RS256"]


def test_token_requests_counts_every_grant_exactly(provider):
    before_all = provider.token_requests()
    before_refreshes = provider.token_requests("refresh_token")
    before_codes = provider.token_requests("authorization_code", status=200)

    session, token = connect(provider)
    session.refresh_token(provider.token_endpoint, refresh_token=token["refresh_token"])
    assert_invalid_grant(session, provider, token["refresh_token"])  # refused, still a request

    assert provider.token_requests() == before_all + 3
    assert provider.token_requests("authorization_code", status=200) == before_codes + 1
    assert provider.token_requests("refresh_token") == before_refreshes + 2
    assert provider.token_request_log()[-2:] == [
        {"grant_type": "refresh_token", "status": 200}, {"grant_type": "refresh_token", "status": 400},
    ]


def test_access_tokens_expire_after_the_configured_lifetime_and_refresh_renews_them():
    with OAuthProvider.start([REDIRECT_URI], access_token_seconds=1) as short_lived:
        session, token = connect(short_lived)
        assert token["expires_in"] == 1
        time.sleep(1.2)
        assert not short_lived.accepts(token["access_token"])

        renewed = session.refresh_token(short_lived.token_endpoint, refresh_token=token["refresh_token"])

        assert short_lived.accepts(renewed["access_token"])


def test_a_paused_provider_accepts_connections_but_never_answers(provider):
    provider.pause()
    try:
        with pytest.raises(requests.ReadTimeout):
            requests.get(provider.discovery_url, timeout=0.5)
    finally:
        provider.resume()
    assert requests.get(provider.discovery_url, timeout=5).status_code == 200


def test_the_development_provider_prints_its_settings_and_serves_until_stopped(tmp_path):
    """`make oauth-provider`: one command prints a CONNECTIONS_PROVIDERS value whose discovery URL answers,
    and stops, its server with it, on SIGTERM."""
    import json
    import os
    import signal
    import subprocess
    import sys

    from config.dev_env import development_env

    env_file = tmp_path / ".env"
    env_file.write_text(development_env())
    env = {**os.environ, "ENV_FILE": str(env_file), "DJANGO_SETTINGS_MODULE": "config.settings"}
    process = subprocess.Popen([sys.executable, "-m", "connections.tests.oauth_provider"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = process.stdout.readline()
        assert line.startswith("CONNECTIONS_PROVIDERS="), line
        local = json.loads(line.split("=", 1)[1])["local"]
        assert local["client_id"] and local["client_secret"]
        document = requests.get(local["discovery_url"], timeout=10).json()
        assert document["token_endpoint"].startswith("http://127.0.0.1:")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(local["discovery_url"], timeout=5)
