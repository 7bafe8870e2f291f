from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # For what importing them does: system checks; error codes, events and scopes declared; the reuse
        # alert's receiver connected to sessions_app's signal (notifications).
        from . import checks, emails, errors, events, limits, notifications  # noqa: F401


class AccountsAdminConfig(admin_apps.AdminConfig):
    """Use in INSTALLED_APPS instead of "django.contrib.admin": the admin site whose login is throttled like
    the API login (accounts/admin_site.py)."""

    default = False  # "accounts" alone still means AccountsConfig
    default_site = "accounts.admin_site.AccountsAdminSite"
