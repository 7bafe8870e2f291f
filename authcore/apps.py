from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthcoreConfig(AppConfig):
    """The kernel both apps build on. It knows no domain words: each app declares its own error codes,
    security-event kinds and rate-limit scopes here (in its AppConfig.ready or at import of its modules)."""

    name = "authcore"
    verbose_name = _("Security log")
    default_auto_field = "django.db.models.BigAutoField"

    def __init__(self, app_name, app_module):
        super().__init__(app_name, app_module)
        # Before any other app is created (this one is first in INSTALLED_APPS): a host app that takes one of
        # the service's labels or names stops the start with an error that says so (authcore/installation.py).
        from django.conf import settings

        from .installation import check_installation
        check_installation(settings.INSTALLED_APPS)

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
        from .api import schema  # noqa: F401  (registers the OpenAPI extension for request bodies)
