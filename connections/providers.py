"""The configured providers (CONNECTIONS PROVIDERS) and the OAuth 2.0 client that talks to them (Authlib's
requests client). Every call has bounded timeouts; a network failure is tried again HTTP_ATTEMPTS times in
all, then raised as ProviderUnavailable. The provider's own refusals (an OAuth error in the body) are never
retried: they are answers, not failures."""
from collections.abc import Callable
from dataclasses import dataclass, field
import time
from typing import TypeVar

from authlib.integrations.requests_client import OAuth2Session, OAuthError
from django.core.cache import cache
from django.urls import reverse
import requests

from authcore.errors import ServiceError

from .conf import app_settings
from .errors import ProviderUnavailable

T = TypeVar("T")
# Keys a provider entry may have; connections.checks reports any other (a typo would silently do nothing).
REQUIRED_KEYS = {"client_id", "client_secret"}
ENDPOINT_KEYS = {"authorization_url", "token_url", "revocation_url"}
OPTIONAL_KEYS = {"scopes", "discovery_url", "redirect_uri", "authorize_params", "token_endpoint_auth_method"}
AUTH_METHODS = {"client_secret_basic", "client_secret_post"}


@dataclass(frozen=True)
class Provider:
    name: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ()
    authorization_url: str = ""
    token_url: str = ""
    revocation_url: str = ""
    discovery_url: str = ""
    redirect_uri: str = ""
    authorize_params: dict = field(default_factory=dict)
    token_endpoint_auth_method: str = "client_secret_basic"

    def endpoint(self, name: str) -> str:
        """authorization_url, token_url or revocation_url: as configured, or from the discovery document."""
        configured = getattr(self, name)
        if configured or not self.discovery_url:
            return configured
        document_key = {"authorization_url": "authorization_endpoint", "token_url": "token_endpoint",
                        "revocation_url": "revocation_endpoint"}[name]
        return discovery_document(self).get(document_key, "")

    def callback_url(self) -> str:
        """The redirect_uri sent to the provider: the configured one, or this service's callback page."""
        if self.redirect_uri:
            return self.redirect_uri
        path = reverse("connections:callback", args=[self.name])
        return app_settings.SITE_URL.rstrip("/") + path

    def client(self, **kwargs) -> OAuth2Session:
        session = OAuth2Session(
            self.client_id, self.client_secret, scope=" ".join(self.scopes) or None,
            redirect_uri=self.callback_url(), code_challenge_method="S256",
            token_endpoint_auth_method=self.token_endpoint_auth_method,
            revocation_endpoint_auth_method=self.token_endpoint_auth_method, **kwargs)
        session.default_timeout = app_settings.HTTP_TIMEOUT
        return session


def get_provider(name: str) -> Provider:
    config = app_settings.PROVIDERS.get(name) if isinstance(name, str) else None
    if not isinstance(config, dict):
        raise ServiceError("unknown_provider")
    known = REQUIRED_KEYS | ENDPOINT_KEYS | OPTIONAL_KEYS
    return Provider(name=name, **{key: (tuple(value) if key == "scopes" else value)
                                  for key, value in config.items() if key in known})


def provider_names() -> list[str]:
    return sorted(app_settings.PROVIDERS)


def discovery_document(provider: Provider) -> dict:
    """The provider's OpenID Connect discovery document, cached (DISCOVERY_CACHE_SECONDS)."""
    cache_key = f"connections:discovery:{provider.discovery_url}"
    document = cache.get(cache_key)
    if document is None:
        response = with_retries(provider.name, lambda: requests.get(provider.discovery_url,
                                                                    timeout=app_settings.HTTP_TIMEOUT))
        if response.status_code != 200:
            raise ProviderUnavailable(provider.name)
        try:
            document = response.json()
        except ValueError:
            raise ProviderUnavailable(provider.name) from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(provider.name)
        cache.set(cache_key, document, app_settings.DISCOVERY_CACHE_SECONDS)
    return document


def with_retries(provider_name: str, call: Callable[[], T]) -> T:
    """`call`, tried again on a network failure or a provider's server error (5xx) up to HTTP_ATTEMPTS in
    all, with a short pause; then ProviderUnavailable. OAuth errors (the provider's answer) pass through."""
    attempts = max(1, app_settings.HTTP_ATTEMPTS)
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except OAuthError:
            raise
        except (requests.RequestException, ValueError) as error:
            # ValueError: Authlib's "not a JSON object" for a gateway's HTML page.
            if attempt == attempts:
                raise ProviderUnavailable(provider_name) from error
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")
