from datetime import timedelta

from authcore.conf import AppSettings

app_settings = AppSettings(
    "CONNECTIONS",
    {
        # The OAuth 2.0 providers users can connect, by name: each a dict with `client_id`, `client_secret`,
        # `scopes` (a list), and either `discovery_url` (OpenID Connect discovery) or `authorization_url`
        # and `token_url` (and optionally `revocation_url`). Optional: `redirect_uri` (default: this
        # service's callback page), `authorize_params` (extra query parameters, e.g. {"access_type":
        # "offline"}), `token_endpoint_auth_method` ("client_secret_basic", the default, or
        # "client_secret_post"). connections.checks reports a malformed entry.
        "PROVIDERS": {},
        # AES-256-GCM keys for the stored tokens, each 32 bytes in URL-safe base64, newest first: the first
        # encrypts, every one decrypts (rotate by putting a new key first, running
        # `manage.py reencrypt_connection_tokens`, then removing the old one).
        "ENCRYPTION_KEYS": [],
        # Base URL of this service, for the default callback ({SITE_URL}/connections/<provider>/callback/).
        "SITE_URL": "http://127.0.0.1:8000",
        # Where the callback page sends the browser afterwards (?connected=<provider>, or
        # ?connection_error=<code>); empty: the page says what happened itself.
        "APP_URL": "",
        # An access token expiring within this margin is refreshed before it is handed out.
        "REFRESH_MARGIN": timedelta(seconds=60),
        # How long a started connection (its state and PKCE verifier) can be completed.
        "STATE_LIFETIME": timedelta(minutes=10),
        # Every call to a provider: (connect, read) timeouts in seconds, and how many tries for a network
        # failure. A refresh holds the connection's row lock while it waits, so these bound the lock too.
        "HTTP_TIMEOUT": (3.05, 10),
        "HTTP_ATTEMPTS": 2,
        # After a refresh failed for a network reason, callers get ProviderUnavailable at once for this
        # long instead of each trying again (each try can hold the connection's lock for its timeouts).
        "REFRESH_RETRY_AFTER": timedelta(seconds=30),
        # Discovery documents are cached this long.
        "DISCOVERY_CACHE_SECONDS": 3600,
        # Rows re-encrypted per transaction by `reencrypt_connection_tokens`.
        "REENCRYPT_BATCH_SIZE": 200,
    },
)
