"""The error codes of connected accounts, and the exceptions application code catches around
`get_valid_access_token`."""
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from authcore.errors import ErrorSpec, ServiceError, register_errors

register_errors({
    "unknown_provider": ErrorSpec(404, _("No such provider is configured.")),
    "not_connected": ErrorSpec(404, _("This account is not connected to that provider.")),
    "needs_reconnect": ErrorSpec(
        409, _("The provider no longer accepts this connection: connect it again."),
        note="Raised to application code by `get_valid_access_token` (NeedsReconnect); no endpoint of the apps "
             "answers it, application code may answer its own clients with it."),
    "invalid_state": ErrorSpec(400, _("This connection attempt is invalid, was already used or has expired: "
                                      "start again.")),
    "connection_denied": ErrorSpec(400, _("The provider did not grant access.")),
    "connection_failed": ErrorSpec(400, _("The provider refused to complete the connection: start again.")),
    "provider_unavailable": ErrorSpec(503, _("The provider could not be reached. Try again shortly.")),
})


class NeedsReconnect(ServiceError):
    """The provider refused the stored grant (`invalid_grant`): the connection is marked needs_reconnect and
    the user has to connect again."""

    def __init__(self, provider: str) -> None:
        super().__init__("needs_reconnect", gettext("The connection to %(provider)s must be made again.")
                         % {"provider": provider})


class ProviderUnavailable(ServiceError):
    """The provider did not answer in time, or answered with a server error; nothing stored was changed."""

    def __init__(self, provider: str) -> None:
        super().__init__("provider_unavailable",
                         gettext("%(provider)s could not be reached. Try again shortly.") % {"provider": provider},
                         retry_after=15)


class NotConnected(ServiceError):
    def __init__(self) -> None:
        super().__init__("not_connected")
