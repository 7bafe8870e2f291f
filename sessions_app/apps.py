from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = _("Sessions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The logout receiver; system checks; error codes and scopes declared.
        from . import browser, checks, errors, limits  # noqa: F401
        from .api import schema  # noqa: F401  (registers the OpenAPI auth scheme)
