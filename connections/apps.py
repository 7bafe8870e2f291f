from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import pre_delete


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = "Connected accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, errors, limits  # noqa: F401  (checks; codes and scopes declared)
        from .receivers import revoke_connections_of_deleted_user

        # Deleting a user (by any path) deletes their connections with it; first, revoke at the providers.
        pre_delete.connect(revoke_connections_of_deleted_user, sender=settings.AUTH_USER_MODEL,
                           dispatch_uid="connections.revoke_on_user_delete")
