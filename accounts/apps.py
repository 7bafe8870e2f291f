from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from . import checks, emails, errors, events, limits, receivers  # noqa: F401  (checks; codes, events, scopes declared)

        receivers.connect()
        request_started.connect(emails.hold_jobs_until_response_sent, dispatch_uid="accounts.emails.hold")
        request_finished.connect(emails.release_jobs_after_response, dispatch_uid="accounts.emails.release")


class AccountsAdminConfig(admin_apps.AdminConfig):
    """Use in INSTALLED_APPS instead of "django.contrib.admin": the admin site whose login is throttled like
    the API login (accounts/admin_site.py)."""

    default = False  # "accounts" alone still means AccountsConfig
    default_site = "accounts.admin_site.AccountsAdminSite"
