from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import pre_delete
from django.utils.translation import gettext_lazy as _

from authcore.installation import require_extra


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = _("Connected accounts")
    default_auto_field = "django.db.models.BigAutoField"

    # What the connections app imports beyond the package's own dependencies: its extra.
    EXTRA_MODULES = ("authlib", "requests", "urllib3", "cryptography")

    def __init__(self, app_name, app_module):
        super().__init__(app_name, app_module)
        require_extra(self.name, self.EXTRA_MODULES, extra=self.name)

    def ready(self) -> None:
        from . import checks, errors, limits  # noqa: F401  (checks; codes and scopes declared)
        from .receivers import revoke_connections_of_deleted_user

        # Deleting a user (by any path) deletes their connections with it; first, revoke at the providers.
        pre_delete.connect(revoke_connections_of_deleted_user, sender=settings.AUTH_USER_MODEL,
                           dispatch_uid="connections.revoke_on_user_delete")
