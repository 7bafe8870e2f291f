from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # For what importing them does: system checks; error codes, events and scopes declared; each flow
        # registers what its emails need at render time (the task worker renders them), and the reuse
        # alert's receiver is connected to sessions_app's signal (flows.sign_in_alerts).
        from . import checks, errors, events, limits, redaction  # noqa: F401
        from .flows import (  # noqa: F401
            deactivation,
            deletion,
            email_change,
            export,
            login,
            not_me,
            passwords,
            profile,
            reauthentication,
            registration,
            sign_in_alerts,
            verification,
        )


class AccountsAdminConfig(admin_apps.AdminConfig):
    """Use in INSTALLED_APPS instead of "django.contrib.admin": the admin site whose login is throttled like
    the API login (accounts/admin_site.py)."""

    default = False  # "accounts" alone still means AccountsConfig
    default_site = "accounts.admin_site.AccountsAdminSite"
