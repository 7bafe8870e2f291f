"""Start-up checks of the kernel's settings (AUTHCORE)."""
from datetime import timedelta

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from .conf import app_settings
from .ratelimit import KEY_KINDS, SCOPES

DUMMY_CACHE = "django.core.cache.backends.dummy.DummyCache"
PROCESS_LOCAL_CACHES = {"django.core.cache.backends.locmem.LocMemCache", DUMMY_CACHE}
DURABLE_TASKS = "django_tasks_db.DatabaseBackend"


def _is_durable(backend_path: str) -> bool:
    """The database backend, under any of its import paths, or a subclass of it."""
    from django_tasks_db.backend import DatabaseBackend

    try:
        backend = import_string(backend_path)
    except ImportError:
        return False
    return isinstance(backend, type) and issubclass(backend, DatabaseBackend)


@checks.register()
def check_kernel_settings(app_configs=None, **kwargs):
    errors = app_settings.unknown_settings_errors("authcore.E001")
    if not isinstance(app_settings.TRUSTED_PROXY_COUNT, int) or app_settings.TRUSTED_PROXY_COUNT < 0:
        errors.append(checks.Error("TRUSTED_PROXY_COUNT must be a non-negative integer.", id="authcore.E002"))
    return errors + _rate_limit_errors() + _cache_errors() + _task_errors()


def _rate_limit_errors() -> list[checks.Error]:
    errors = []
    known_scopes = set(SCOPES)
    for scope, rates in app_settings.RATE_LIMITS.items():
        if scope not in known_scopes:
            errors.append(checks.Error(f"RATE_LIMITS has an unknown scope {scope!r}.",
                                       hint=f"Known scopes: {', '.join(sorted(known_scopes))}.", id="authcore.E003"))
        elif not isinstance(rates, dict) or set(rates) - set(KEY_KINDS):
            errors.append(checks.Error(f"RATE_LIMITS[{scope!r}] must be a dict with keys 'ip' and/or 'account'.",
                                       id="authcore.E004"))
    fail_open = app_settings.RATE_LIMIT_FAIL_OPEN
    if fail_open is not None:
        unknown_open = set(fail_open) - known_scopes - set(app_settings.RATE_LIMITS)
        if unknown_open:
            errors.append(checks.Error(f"RATE_LIMIT_FAIL_OPEN names unknown scopes: {', '.join(sorted(unknown_open))}.",
                                       id="authcore.E005"))
    return errors


def _cache_errors() -> list[checks.Error]:
    """The rate limits' cache: one that counts, shared by every process."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.DEBUG or not getattr(settings, "RATELIMIT_ENABLE", True):
        return []
    if backend == DUMMY_CACHE:
        return [checks.Error(
            "The default cache is Django's dummy cache: it counts nothing, so no rate limit or login lock would "
            "ever trip.", hint="Configure Redis (REDIS_URL).", id="authcore.E007")]
    if backend in PROCESS_LOCAL_CACHES and not app_settings.SINGLE_PROCESS:
        return [checks.Error(
            "The rate limits count in a cache each process keeps for itself: with several processes each "
            "would allow the whole limit.", hint="Configure a shared cache (REDIS_URL), or set "
            "AUTHCORE['SINGLE_PROCESS'] = True if the service runs as a single process.", id="authcore.E006")]
    return []


def _task_errors() -> list[checks.Error]:
    errors = []
    task_backend = getattr(settings, "TASKS", {}).get("default", {}).get("BACKEND", "")
    if not settings.DEBUG and not _is_durable(task_backend):
        errors.append(checks.Error(
            f"The task backend is {task_backend or 'not set'}: emails would not be durable (lost with the "
            "process, or sent inside the request).", hint=f"TASKS = {{'default': {{'BACKEND': '{DURABLE_TASKS}'}}}}, "
            "with `manage.py task_worker` running.", id="authcore.E008"))
    for name in ("TASK_RETRY_DELAY", "TASK_RETRY_MAX_DELAY", "TASK_LEASE"):
        if not isinstance(getattr(app_settings, name), timedelta) or getattr(app_settings, name).total_seconds() <= 0:
            errors.append(checks.Error(f"AUTHCORE['{name}'] must be a positive timedelta.", id="authcore.E009"))
    if not isinstance(app_settings.TASK_MAX_ATTEMPTS, int) or app_settings.TASK_MAX_ATTEMPTS < 1:
        errors.append(checks.Error("AUTHCORE['TASK_MAX_ATTEMPTS'] must be a positive integer.", id="authcore.E010"))
    return errors
