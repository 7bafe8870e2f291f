"""Namespaced settings with defaults in code, read on every access so `override_settings` works."""
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import checks


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

    def unknown_settings_errors(self, error_id: str) -> list[checks.Error]:
        """For the app's system check: an error naming the settings of the namespace that have no default
        (a typo, or a setting since removed, which would otherwise be ignored without a word)."""
        unknown = set(self.defined()) - set(self._defaults)
        if not unknown:
            return []
        return [checks.Error(f"Unknown {self._namespace} settings: {', '.join(sorted(unknown))}.", id=error_id)]


app_settings = AppSettings(
    "AUTHCORE",
    {
        # How many reverse proxies in front of the app append to X-Forwarded-For. 0 = use REMOTE_ADDR.
        "TRUSTED_PROXY_COUNT": 0,
        # Largest JSON body the API parses; larger ones get 413 before any parsing.
        "MAX_JSON_BODY_BYTES": 64 * 1024,
        # Rate limits, laid over the defaults each app declares for its scopes (authcore.ratelimit), scope
        # by scope and key by key ("ip" or "account"), in django-ratelimit's "N/period" form; None = off.
        "RATE_LIMITS": {},
        # The scopes that let requests through while the rate-limit cache is unreachable (every other
        # scope answers 503 with Retry-After). None: each scope's own default, declared with it.
        "RATE_LIMIT_FAIL_OPEN": None,
        # Retry-After (seconds) of a 503 answered because the rate-limit cache or the database is unreachable.
        "CACHE_UNAVAILABLE_RETRY_AFTER": 15,
        # How long security events are kept: `purge_security_events` deletes older ones. A year covers
        # most audit and incident-review needs; keep longer where a regulation asks for it.
        "SECURITY_EVENT_RETENTION": timedelta(days=365),
        # The rate limits count in the default cache. With DEBUG off it must be shared by every process
        # (Redis), or each process would keep its own counts and N processes allow N times the limit; a
        # system check refuses a process-local cache unless this says the service really runs as one
        # process.
        "SINGLE_PROCESS": False,
        # Security events deleted per statement by `purge_security_events`.
        "SECURITY_EVENT_PURGE_BATCH_SIZE": 5000,
        # Background tasks (authcore.tasks, `manage.py task_worker`). A task that fails for a temporary
        # reason (SES throttling, the network) is tried again after TASK_RETRY_DELAY, doubled each time up
        # to TASK_RETRY_MAX_DELAY, at most TASK_MAX_ATTEMPTS times in all: with the defaults, attempts
        # spread over 36 to 73 minutes before the task is marked failed.
        "TASK_MAX_ATTEMPTS": 10,
        "TASK_RETRY_DELAY": timedelta(seconds=10),
        "TASK_RETRY_MAX_DELAY": timedelta(minutes=30),
        # A task RUNNING for longer than this is taken to have lost its worker and is run again. Keep it
        # well above the longest a task can take (an email: the SES client's timeouts, AWS_SES_CONFIG).
        "TASK_LEASE": timedelta(minutes=5),
    },
)
