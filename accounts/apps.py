from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, emails, errors, events, limits  # noqa: F401  (checks; codes, events, scopes declared)


class AccountsAdminConfig(admin_apps.AdminConfig):
    """Use in INSTALLED_APPS instead of "django.contrib.admin": the admin site whose login is throttled like
    the API login (accounts/admin_site.py)."""

    default = False  # "accounts" alone still means AccountsConfig
    default_site = "accounts.admin_site.AccountsAdminSite"
