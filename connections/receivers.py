"""Receivers of other apps' signals."""
from . import services


def revoke_connections_of_deleted_user(sender, instance, **kwargs) -> None:
    """A user is about to be deleted, with their stored tokens (the rows cascade): revoke those tokens at
    their providers first, where possible. Best effort: an unreachable provider never blocks a deletion."""
    services.disconnect_all_for_deleted_user(instance)
