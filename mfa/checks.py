"""System checks of the mfa app: its vault's keys."""
from django.conf import settings
from django.core import checks

from authcore.vault import parse_key

from .conf import app_settings


@checks.register()
def check_mfa(app_configs=None, **kwargs):
    errors = []
    keys = app_settings.ENCRYPTION_KEYS
    for index, key in enumerate(keys if isinstance(keys, (list, tuple)) else [keys]):
        try:
            parse_key(key if isinstance(key, str) else "")
        except ValueError as error:
            errors.append(checks.Error(
                f"MFA['ENCRYPTION_KEYS'][{index}] is not a key: {error}.",
                hint="32 random bytes in URL-safe base64: python -c \"import authcore.vault as v; "
                     "print(v.generate_key())\"", id="mfa.E001"))
    if not keys:
        if settings.DEBUG:
            errors.append(checks.Warning(
                "MFA['ENCRYPTION_KEYS'] is empty: authenticator-app secrets are encrypted with a key derived from "
                "SECRET_KEY (development only).", id="mfa.W001"))
        else:
            errors.append(checks.Error(
                "MFA['ENCRYPTION_KEYS'] is empty: authenticator-app secrets cannot be stored.",
                hint="Set MFA_ENCRYPTION_KEYS.", id="mfa.E002"))
    return errors
