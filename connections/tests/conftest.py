"""Fixtures of the connections tests: a real OAuth 2.0 provider (django-oauth-toolkit in its own gunicorn
process, connections/tests/oauth_provider.py) and this service configured to use it as "demo"."""
import pytest

from connections.crypto import generate_key

from .oauth_provider import OAuthProvider

CALLBACK = "http://testserver/connections/demo/callback/"
APP_CALLBACK = "https://app.example.com/connected"


@pytest.fixture(scope="session")
def oauth_provider():
    """One provider for the session (each start costs about a second); tests that break its grants use
    `fresh_grant` or their own user."""
    with OAuthProvider.start([CALLBACK, APP_CALLBACK]) as provider:
        yield provider


def provider_settings(provider: OAuthProvider, **overrides) -> dict:
    return {"client_id": provider.client_id, "client_secret": provider.client_secret,
            "authorization_url": provider.authorization_endpoint, "token_url": provider.token_endpoint,
            "revocation_url": provider.revocation_endpoint, "scopes": ["read", "write"], **overrides}


@pytest.fixture
def keys():
    """Two encryption keys; the first is the one in use."""
    return [generate_key(), generate_key()]


@pytest.fixture
def demo(settings, oauth_provider, keys):
    """This service with the provider configured as "demo", and an encryption key."""
    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {"demo": provider_settings(oauth_provider)},
                            "ENCRYPTION_KEYS": keys[:1], "SITE_URL": "http://testserver", "APP_URL": ""}
    return oauth_provider
