"""The configured providers (CONNECTIONS PROVIDERS) and the OAuth 2.0 client that talks to them (Authlib's
requests client). Every call has bounded timeouts; a network failure is tried again HTTP_ATTEMPTS times in
all, then raised as ProviderUnavailable. The provider's own refusals (an OAuth error in the body) are never
retried: they are answers, not failures. Endpoints named by a discovery document are judged by the addresses
their hosts resolve to, and connected to only at those (connections.egress)."""
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
import json
import logging
import time
from typing import TypeVar
from urllib.parse import urlsplit

from authlib.integrations.requests_client import OAuth2Session, OAuthError
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
import requests
from requests.adapters import HTTPAdapter
import urllib3

from authcore.errors import ServiceError
from authcore.ratelimit import CACHE_BACKEND_ERRORS

from . import egress
from .conf import app_settings
from .errors import ProviderUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")
# Keys a provider entry may have; connections.checks reports any other (a typo would silently do nothing).
REQUIRED_KEYS = {"client_id", "client_secret"}
ENDPOINT_KEYS = {"authorization_url", "token_url", "revocation_url"}
OPTIONAL_KEYS = {"scopes", "discovery_url", "redirect_uri", "authorize_params", "token_endpoint_auth_method"}
# Parameters of the authorization request that are the flow's own: `authorize_params` must not replace them
# (a fixed state, or a response_type that drops PKCE).
RESERVED_AUTHORIZE_PARAMS = {"state", "response_type", "redirect_uri", "client_id", "scope", "code_challenge",
                             "code_challenge_method"}
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
        value = discovery_document(self).get(document_key, "")
        if not value:
            return value
        # The document decides where the client secret, codes and tokens go, and the authorization URL is
        # handed to apps to navigate to: the same rules as a configured URL (no javascript:, no plain http),
        # and its host judged by the addresses it resolves to (client() then connects only to those).
        if url_problem(value):
            raise ProviderUnavailable(self.name)
        try:
            egress.check_url(value, self.discovered_endpoint_kinds)
        except egress.Refused as refused:
            logger.warning("Provider %s: the discovered %s is refused: %s.", self.name, name, refused)
            raise ProviderUnavailable(self.name) from None
        return value

    @cached_property
    def discovered_endpoint_kinds(self) -> frozenset[str]:
        """The kinds of address (connections.egress) the endpoints of the discovery document may resolve to.
        Public ones; loopback or private ones only when the discovery URL itself resolves there: a provider
        on this machine (tests) or on the operator's own network publishes its endpoints beside the
        document, while a document from the internet must not aim at this machine or its network.
        Link-local (the cloud metadata service), multicast, unspecified and reserved addresses never."""
        own = egress.kinds_of_host(urlsplit(self.discovery_url).hostname)
        return frozenset({egress.PUBLIC}) | (own & {egress.LOOPBACK, egress.PRIVATE})

    def callback_url(self) -> str:
        """The redirect_uri sent to the provider: the configured one, or this service's callback page."""
        if self.redirect_uri:
            return self.redirect_uri
        path = reverse("connections:callback", args=[self.name])
        return app_settings.SITE_URL.rstrip("/") + path

    def client(self, *, with_scope: bool = True) -> OAuth2Session:
        """The OAuth client. `with_scope=False` for a refresh: it must not ask for the scopes configured
        now (a scope added since the user connected would be refused as `invalid_scope`)."""
        session = OAuth2Session(
            self.client_id, self.client_secret, scope=(" ".join(self.scopes) or None) if with_scope else None,
            redirect_uri=self.callback_url(), code_challenge_method="S256",
            token_endpoint_auth_method=self.token_endpoint_auth_method,
            revocation_endpoint_auth_method=self.token_endpoint_auth_method)
        session.default_timeout = app_settings.HTTP_TIMEOUT
        if self.discovery_url:
            # Discovered endpoints: connected to only at the addresses their check allowed. The origins of
            # the endpoints configured here keep the plain adapter (the operator chose those hosts).
            pinned = egress.PinnedAdapter(self.discovered_endpoint_kinds)
            session.mount("https://", pinned)
            session.mount("http://", pinned)
            for key in ("token_url", "revocation_url"):
                if getattr(self, key):
                    parts = urlsplit(getattr(self, key))
                    session.mount(f"{parts.scheme}://{parts.netloc}/", HTTPAdapter())
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


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
DISCOVERY_MAX_BYTES = 256 * 1024


def url_problem(value) -> str | None:
    """What is wrong with an endpoint URL, or None. Tokens and the client secret travel to these
    endpoints: plain http only to this machine (or in DEBUG)."""
    if not isinstance(value, str) or not value:
        return "must be an absolute URL"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an absolute http(s) URL"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS and not settings.DEBUG:
        return "must be https (plain http only for a loopback host)"
    return None


def _fetch_discovery(url: str) -> bytes:
    # No redirects (the configured URL is the one trusted), and a bounded body.
    with requests.get(url, timeout=app_settings.HTTP_TIMEOUT, allow_redirects=False, stream=True) as response:
        if response.status_code != 200:
            raise requests.HTTPError(f"discovery answered {response.status_code}")
        body = response.raw.read(DISCOVERY_MAX_BYTES + 1, decode_content=True)
    if len(body) > DISCOVERY_MAX_BYTES:
        raise ValueError("discovery document too large")
    return body


def cache_tolerated(call: Callable[[], T]) -> T | None:
    try:
        return call()
    except CACHE_BACKEND_ERRORS:
        return None


def discovery_document(provider: Provider) -> dict:
    """The provider's discovery document (OpenID Connect or RFC 8414), cached (DISCOVERY_CACHE_SECONDS)."""
    cache_key = f"connections:discovery:{provider.discovery_url}"
    # The cache is only a shortcut here: unreachable, it is a miss (and a failed write is no error).
    document = cache_tolerated(lambda: cache.get(cache_key))
    if document is None:
        body = with_retries(provider.name, lambda: _fetch_discovery(provider.discovery_url), idempotent=True)
        try:
            document = json.loads(body)
        except ValueError:
            raise ProviderUnavailable(provider.name) from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(provider.name)
        cache_tolerated(lambda: cache.set(cache_key, document, app_settings.DISCOVERY_CACHE_SECONDS))
    return document


def _never_sent(error: BaseException) -> bool:
    """Whether the request certainly never reached the provider: the TCP connection was not made (refused,
    timed out, the name did not resolve: urllib3's NewConnectionError and its NameResolutionError)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    if isinstance(error, requests.exceptions.ProxyError):
        reason = getattr(reason, "original_error", reason)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def with_retries(provider_name: str, call: Callable[[], T], *, idempotent: bool) -> T:
    """`call`, tried up to HTTP_ATTEMPTS times in all, with a short pause; then ProviderUnavailable. OAuth
    errors (the provider's answer) pass through.

    What is tried again depends on `idempotent`. A revocation or a discovery fetch can be repeated after any
    network failure or server error. A code exchange or a refresh cannot: the provider may have done it and
    only its answer was lost, and sending the same code or refresh token again is a replay, which providers
    answer by revoking the whole grant. Those are tried again only when the connection was never made."""
    attempts = max(1, app_settings.HTTP_ATTEMPTS)
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except OAuthError:
            raise
        except egress.Refused as refused:
            # A discovered endpoint's host resolved elsewhere than allowed when connecting: nothing was sent.
            logger.warning("Provider %s: not connecting: %s.", provider_name, refused)
            raise ProviderUnavailable(provider_name) from None
        except (requests.RequestException, ValueError) as error:
            # ValueError: Authlib's "not a JSON object" for a gateway's HTML page.
            never_sent = _never_sent(error)
            if attempt == attempts or not (idempotent or never_sent):
                raise ProviderUnavailable(provider_name) from None
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")
