from datetime import timedelta
from urllib.parse import urlsplit

from django.apps import apps as apps_registry
from django.conf import settings
from django.core import checks
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from .conf import app_settings
from .emails import LINK_PAGES


@checks.register()
def check_account_settings(app_configs=None, **kwargs):
    return [*app_settings.unknown_settings_errors("accounts.E001"), *_site_url_errors(), *_link_page_errors(),
            *_installed_apps_errors(), *_lifecycle_errors(), *_password_errors(), *_email_backend_errors()]


def _site_url_errors() -> list:
    site = urlsplit(app_settings.SITE_URL)
    if site.scheme not in ("http", "https") or not site.netloc:
        return [checks.Error("ACCOUNTS['SITE_URL'] must be an absolute http(s) URL.", id="accounts.E002")]
    if site.scheme != "https" and not settings.DEBUG:
        return [checks.Warning("SITE_URL is not https: emailed links would travel in clear text.",
                               id="accounts.W001")]
    return []


def _link_page_errors() -> list:
    errors = []
    for name in LINK_PAGES:
        template = getattr(app_settings, name)
        if template and "{token}" not in template:
            errors.append(checks.Error(f"ACCOUNTS['{name}'] must contain '{{token}}'.", id="accounts.E003"))
    for name, url_name in LINK_PAGES.items():
        if not getattr(app_settings, name) and not _mounted(url_name):
            errors.append(checks.Error(
                f"ACCOUNTS['{name}'] is empty but the accounts pages are not mounted: emailed links "
                "would have nowhere to go.", hint="include('accounts.urls') or set the template.",
                id="accounts.E005"))
    return errors


def _mounted(url_name: str) -> bool:
    try:
        reverse(url_name, args=["AA.a-0"])
    except NoReverseMatch:
        return False
    return True


def _installed_apps_errors() -> list:
    errors = []
    apps = list(getattr(settings, "INSTALLED_APPS", []))
    if ("accounts" in apps and "django.contrib.auth" in apps
            and apps.index("accounts") > apps.index("django.contrib.auth")):
        errors.append(checks.Error(
            "'accounts' must come before 'django.contrib.auth' in INSTALLED_APPS.",
            hint="Otherwise Django's own changepassword command runs, which finds a user only by the exact "
                 "stored spelling of the address.", id="accounts.E006"))
    if apps_registry.is_installed("django.contrib.admin"):
        from django.contrib import admin

        from .admin_site import AccountsAdminSite

        if not isinstance(admin.site, AccountsAdminSite):
            errors.append(checks.Warning(
                "The admin login is not throttled like the API login.",
                hint="Put 'accounts.apps.AccountsAdminConfig' in INSTALLED_APPS instead of 'django.contrib.admin'.",
                id="accounts.W004"))
    return errors


def _lifecycle_errors() -> list:
    """The login lock's, the device cookie's and reauthentication's durations and counts."""
    errors = []
    positive = ("LOGIN_FAILURE_WINDOW", "LOGIN_LOCKOUT_BASE", "LOGIN_LOCKOUT_MAX", "LOGIN_FAILURE_MEMORY",
                "DEVICE_COOKIE_AGE", "REAUTH_FAILURE_MEMORY")
    for name in positive:
        if getattr(app_settings, name) <= timedelta(0):
            errors.append(checks.Error(f"ACCOUNTS['{name}'] must be a positive duration.", id="accounts.E007"))
    for name in ("LOGIN_FAILURES_PER_CLIENT", "LOGIN_LOCKOUT_THRESHOLD", "REAUTH_MAX_FAILURES"):
        if not isinstance(getattr(app_settings, name), int) or getattr(app_settings, name) < 1:
            errors.append(checks.Error(f"ACCOUNTS['{name}'] must be a whole number of at least 1.", id="accounts.E008"))
    if isinstance(app_settings.REAUTH_MAX_FAILURES, int) and app_settings.REAUTH_MAX_FAILURES > 100:
        # NIST SP 800-63B: at most 100 consecutive failed attempts on one account.
        errors.append(checks.Error("ACCOUNTS['REAUTH_MAX_FAILURES'] must be at most 100.", id="accounts.E013"))
    if app_settings.LOGIN_LOCKOUT_MAX < app_settings.LOGIN_LOCKOUT_BASE:
        errors.append(checks.Error("ACCOUNTS['LOGIN_LOCKOUT_MAX'] must not be shorter than LOGIN_LOCKOUT_BASE.",
                                   id="accounts.E009"))
    return errors


def _password_errors() -> list:
    errors = []
    validator_names = [validator.get("NAME", "") for validator in getattr(settings, "AUTH_PASSWORD_VALIDATORS", [])]
    if "accounts.password_validation.MaximumLengthValidator" not in validator_names:
        errors.append(checks.Error(
            "AUTH_PASSWORD_VALIDATORS must include accounts.password_validation.MaximumLengthValidator.",
            hint="The other validators skip a password over the length cap and leave refusing it to that one; "
                 "without it, Django's own forms would accept such a password unchecked.", id="accounts.E010"))
    hashers = getattr(settings, "PASSWORD_HASHERS", [])
    if not hashers or "argon2" not in hashers[0].lower():
        errors.append(checks.Warning("PASSWORD_HASHERS[0] should be an Argon2id hasher.", id="accounts.W002"))
    if any(name.endswith("NumericPasswordValidator") for name in validator_names):
        errors.append(checks.Warning("NumericPasswordValidator is a composition rule; NIST SP 800-63B advises "
                                     "against it.", id="accounts.W003"))
    return errors


# Backends that print, keep or drop what they are given: with DEBUG off they would write live reset and
# verification links into the logs, or lose every email without a word.
DEVELOPMENT_EMAIL_BACKENDS = {"django.core.mail.backends.console.EmailBackend",
                              "django.core.mail.backends.dummy.EmailBackend",
                              "django.core.mail.backends.locmem.EmailBackend"}


def _email_backend() -> tuple[str, str]:
    """The backend the emails go out through, and the setting that names it: the default mailer's where
    MAILERS is set (Django 6.1 and later; SMTP unless it names another), else EMAIL_BACKEND."""
    mailers = getattr(settings, "MAILERS", None)
    if mailers is not None:
        backend = mailers.get("default", {}).get("BACKEND", "django.core.mail.backends.smtp.EmailBackend")
        return backend, "MAILERS['default']"
    return getattr(settings, "EMAIL_BACKEND", ""), "EMAIL_BACKEND"


def _email_backend_errors() -> list:
    backend, setting = _email_backend()
    try:
        import_string(backend)
    except ImportError:
        return [checks.Error(f"{setting} {backend!r} cannot be imported.", id="accounts.E011")]
    if backend in DEVELOPMENT_EMAIL_BACKENDS and not settings.DEBUG:
        return [checks.Error(
            f"{setting} {backend!r} is for development: it would print live links into the logs, or drop "
            "the emails.", hint="Use django_ses.SESBackend (or SMTP) with DEBUG off.", id="accounts.E012")]
    return []
