"""Namespaced settings with defaults in code, read on every access so `override_settings` works."""
from datetime import timedelta
from typing import Any

from django.conf import settings


class AppSettings:
    """Reads `settings.<namespace>[name]`, falling back to the default declared here."""

    def __init__(self, namespace: str, defaults: dict[str, Any]) -> None:
        self._namespace = namespace
        self._defaults = defaults

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._defaults:
            raise AttributeError(f"{self._namespace} has no setting {name!r}")
        return getattr(settings, self._namespace, {}).get(name, self._defaults[name])

    def defined(self) -> dict[str, Any]:
        return getattr(settings, self._namespace, {})


app_settings = AppSettings(
    "SESSIONS_APP",
    {
        # A session (refresh-token family) dies this long after login, however often it is refreshed.
        "ABSOLUTE_LIFETIME": timedelta(days=30),
        # ... or this long after its last refresh.
        "IDLE_TIMEOUT": timedelta(days=7),
        # How long after a rotation the immediate parent may be presented again without ending the
        # family (a client whose response was lost in flight). 0 = strict: any replay ends the session.
        "REFRESH_REUSE_GRACE": timedelta(0),
        # How many reverse proxies in front of the app append to X-Forwarded-For. 0 = use REMOTE_ADDR.
        "TRUSTED_PROXY_COUNT": 0,
        # Largest JSON body the API parses; larger ones get 413 before any parsing.
        "MAX_JSON_BODY_BYTES": 64 * 1024,
        # Sessions deleted per statement by `purge_sessions`.
        "PURGE_BATCH_SIZE": 1000,
        # Rate limits per scope and key ("ip" or "account"), in django-ratelimit's "N/period" form.
        "RATE_LIMITS": {
            # Login attempts per client IP. Per account, login counts failures, not attempts, with its
            # own policy (accounts/login_throttle.py), so nobody can lock a victim out by trying their
            # address.
            "login": {"ip": "30/m"},
            "refresh": {"ip": "120/m"},
            # Guessing the current password with a stolen access token; "account" is the user id.
            "change_password": {"ip": "30/m", "account": "5/m"},
            # Account lifecycle. "account" is the submitted email, or the uid part of an emailed token.
            "register": {"ip": "10/m", "account": "5/h"},
            "verify_email": {"ip": "30/m", "account": "10/h"},
            "resend_verification": {"ip": "10/m", "account": "5/h"},
            "password_reset": {"ip": "10/m", "account": "5/h"},
            "password_reset_confirm": {"ip": "30/m", "account": "10/h"},
        },
        # Scopes that let requests through while the rate-limit cache is unreachable; every other scope
        # answers 503 with Retry-After. Open: a refresh presents a 256-bit token and the token endpoints an
        # HMAC, so nothing can be guessed there, and refusing refreshes would log every client out as its
        # access token expires. Closed: login and change_password guard passwords against guessing, and
        # register, resend_verification and password_reset each send an email (mail bombing).
        "RATE_LIMIT_FAIL_OPEN": ("refresh", "verify_email", "password_reset_confirm"),
        # Retry-After (seconds) of a 503 answered because the rate-limit cache is unreachable.
        "CACHE_UNAVAILABLE_RETRY_AFTER": 15,
    },
)
