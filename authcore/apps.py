from django.apps import AppConfig


class AuthcoreConfig(AppConfig):
    """The kernel both apps build on. It knows no domain words: each app declares its own error codes,
    security-event kinds and rate-limit scopes here (in its AppConfig.ready or at import of its modules)."""

    name = "authcore"
    verbose_name = "Security log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
        from .api import schema  # noqa: F401  (registers the OpenAPI extension for request bodies)
