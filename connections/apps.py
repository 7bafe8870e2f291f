import importlib.util

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import pre_delete
from django.utils.translation import gettext_lazy as _


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = _("Connected accounts")
    default_auto_field = "django.db.models.BigAutoField"

    # What the connections app imports beyond the package's own dependencies: its extra.
    EXTRA_MODULES = ("authlib", "requests", "urllib3", "cryptography")

    def __init__(self, app_name, app_module):
        super().__init__(app_name, app_module)
        missing = [module for module in self.EXTRA_MODULES if importlib.util.find_spec(module) is None]
        if missing:
            # Said at start-up, instead of an ImportError from inside the models when they load.
            raise ImproperlyConfigured(
                f"The connections app needs {', '.join(missing)}: pip install 'django-auth-service[connections]', "
                "or remove \"connections\" from INSTALLED_APPS.")

    def ready(self) -> None:
        from . import checks, errors, limits  # noqa: F401  (checks; codes and scopes declared)
        from .receivers import revoke_connections_of_deleted_user

        # Deleting a user (by any path) deletes their connections with it; first, revoke at the providers.
        pre_delete.connect(revoke_connections_of_deleted_user, sender=settings.AUTH_USER_MODEL,
                           dispatch_uid="connections.revoke_on_user_delete")
