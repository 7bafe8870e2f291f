"""Start-up checks of the kernel's settings (AUTHCORE)."""
from django.core import checks

from .conf import app_settings
from .ratelimit import KEY_KINDS, SCOPES


@checks.register()
def check_kernel_settings(app_configs=None, **kwargs):
    errors = []
    unknown = set(app_settings.defined()) - set(app_settings._defaults)
    if unknown:
        errors.append(checks.Error(f"Unknown AUTHCORE settings: {', '.join(sorted(unknown))}.", id="authcore.E001"))
    if not isinstance(app_settings.TRUSTED_PROXY_COUNT, int) or app_settings.TRUSTED_PROXY_COUNT < 0:
        errors.append(checks.Error("TRUSTED_PROXY_COUNT must be a non-negative integer.", id="authcore.E002"))
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
