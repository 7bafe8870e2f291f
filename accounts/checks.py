from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from .conf import app_settings


@checks.register()
def check_account_settings(app_configs=None, **kwargs):
    errors = []
    unknown = set(app_settings.defined()) - set(app_settings._defaults)
    if unknown:
        errors.append(checks.Error(f"Unknown ACCOUNTS settings: {', '.join(sorted(unknown))}.", id="accounts.E001"))
    site = urlsplit(app_settings.SITE_URL)
    if site.scheme not in ("http", "https") or not site.netloc:
        errors.append(checks.Error("ACCOUNTS['SITE_URL'] must be an absolute http(s) URL.", id="accounts.E002"))
    elif site.scheme != "https" and not settings.DEBUG:
        errors.append(checks.Warning("SITE_URL is not https: emailed links would travel in clear text.",
                                     id="accounts.W001"))
    for name in ("VERIFY_EMAIL_URL_TEMPLATE", "PASSWORD_RESET_URL_TEMPLATE"):
        template = getattr(app_settings, name)
        if template and "{token}" not in template:
            errors.append(checks.Error(f"ACCOUNTS['{name}'] must contain '{{token}}'.", id="accounts.E003"))
    hashers = getattr(settings, "PASSWORD_HASHERS", [])
    if not hashers or "argon2" not in hashers[0].lower():
        errors.append(checks.Warning("PASSWORD_HASHERS[0] should be an Argon2id hasher.", id="accounts.W002"))
    validators = [v.get("NAME", "") for v in getattr(settings, "AUTH_PASSWORD_VALIDATORS", [])]
    if any(name.endswith("NumericPasswordValidator") for name in validators):
        errors.append(checks.Warning("NumericPasswordValidator is a composition rule; NIST SP 800-63B advises "
                                     "against it.", id="accounts.W003"))
    return errors
