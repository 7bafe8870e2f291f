"""Admin for operators: connections with their metadata and status. No token, ciphertext or client secret is
shown or editable anywhere here; disconnecting goes through the same service as the user's own."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from authcore.admin import ReadOnlyAdminMixin, user_email_lookup
from authcore.errors import ServiceError
from authcore.requestmeta import client_info

from . import services
from .models import Connection


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "provider", "status", "scopes", "expires_at", "connected_at", "refreshed_at",
                    "revoked_at")
    list_filter = ("provider", "status")
    search_fields = (user_email_lookup(), "provider")
    list_select_related = ("user",)
    # Listed one by one: the ciphertexts and key id are never among them.
    fields = ("user", "provider", "status", "scopes", "expires_at", "created_at", "connected_at", "refreshed_at",
              "revoked_at", "last_error")
    actions = ("disconnect_selected",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("access_token_ciphertext", "refresh_token_ciphertext",
                                                   "id_token_ciphertext")

    def has_disconnect_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.action(description=_("Disconnect (revoke at the provider and delete the tokens)"),
                  permissions=("disconnect",))
    def disconnect_selected(self, request, queryset):
        client, done = client_info(request), 0
        for connection in queryset.select_related("user").exclude(status=Connection.Status.REVOKED):
            try:
                services.disconnect(user=connection.user, provider_name=connection.provider, actor=request.user,
                                    client=client)
                done += 1
            except ServiceError:
                pass  # a provider no longer configured: nothing to revoke with
        self.message_user(request, ngettext("Disconnected %(count)d connection.", "Disconnected %(count)d connections.",
                                            done) % {"count": done}, messages.SUCCESS)
