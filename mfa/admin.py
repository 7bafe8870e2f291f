"""Admin for operators: each user's second factors (kind, name, when added, confirmed and last used), never a secret
or a recovery code; and the one change an operator makes, a reset of a user who lost every factor, through the same
service layer (audited with the operator, the user emailed)."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from authcore.admin import ReadOnlyAdminMixin, user_email_lookup
from authcore.requestmeta import client_info

from . import flows
from .models import Authenticator


@admin.register(Authenticator)
class AuthenticatorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "kind", "name", "passkey", "created_at", "confirmed_at", "last_used_at")
    list_filter = ("kind",)
    search_fields = (user_email_lookup(),)
    list_select_related = ("user",)
    # Listed one by one: the encrypted secret, the replay step and a key's public key are never among them.
    fields = ("user", "kind", "name", "passkey", "created_at", "confirmed_at", "last_used_at")
    actions = ("reset_second_factors",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("secret", "public_key")

    def has_reset_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.action(description=_("Reset two-step sign-in of these users (remove every factor and recovery code)"),
                  permissions=("reset",))
    def reset_second_factors(self, request, queryset):
        client, done = client_info(request), 0
        users = {authenticator.user for authenticator in queryset.select_related("user")}
        for user in users:
            done += flows.reset_by_operator(user=user, operator=request.user, client=client)
        self.message_user(request, ngettext("Reset two-step sign-in of %(count)d user.",
                                            "Reset two-step sign-in of %(count)d users.", done) % {"count": done},
                          messages.SUCCESS)
