"""The security log in the admin: read-only for everyone, operators read it, nobody edits or deletes it."""
from django.contrib import admin
from django.contrib.auth import get_user_model

from .models import SecurityEvent


class ReadOnlyAdminMixin:
    """Nothing added, edited or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def user_email_lookup(prefix: str = "user") -> str:
    """The search lookup of a related user's email, for any AUTH_USER_MODEL."""
    return f"{prefix}__{get_user_model().get_email_field_name()}"


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "kind", "user", "actor", "ip_address", "session_id")
    list_filter = ("kind", "created_at")
    search_fields = (user_email_lookup(), "ip_address")
    date_hierarchy = "created_at"
    list_select_related = ("user", "actor")
    fields = ("created_at", "kind", "user", "actor", "ip_address", "user_agent", "session_id", "details")
