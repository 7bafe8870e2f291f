"""The kernel in the admin: the security log (read-only for everyone: operators read it, nobody edits or
deletes it) and the background tasks (failed ones can be queued again)."""
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename, get_user_model
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from .models import SecurityEvent
from .tasks import retry_failed


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
    fields = ("created_at", "kind", "user", "actor", "actor_ref", "ip_address", "user_agent", "session_id",
              "details")


# --- background tasks (authcore/tasks.py) -------------------------------------------------------------------
admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskAdmin(DBTaskResultAdmin):
    """django-tasks-db's read-only list of tasks, with what operators need for failed emails: what each
    task was for, how many attempts it took, its last error, and an action to queue failed ones again."""

    list_display = ("enqueued_at", "task_name", "summary", "status", "attempts", "last_error",
                    "display_run_after", "finished_at")
    list_filter = ("status", "queue_name")
    actions = ["retry_failed_tasks"]

    @admin.display(description=_("arguments"))
    def summary(self, result: DBTaskResult) -> str:
        # Task arguments never hold a secret (account emails: the user id, the template, its details).
        args_kwargs = result.args_kwargs or {}
        parts = [repr(value) for value in args_kwargs.get("args", [])]
        parts += [f"{key}={value!r}" for key, value in args_kwargs.get("kwargs", {}).items()]
        text = ", ".join(parts)
        return text if len(text) <= 120 else text[:119] + "…"

    @admin.display(description=_("attempts"))
    def attempts(self, result: DBTaskResult) -> int:
        return len(result.worker_ids or [])

    @admin.display(description=_("last error"))
    def last_error(self, result: DBTaskResult) -> str:
        return result.exception_class_path.rsplit(".", 1)[-1] if result.exception_class_path else ""

    def has_retry_permission(self, request) -> bool:
        # Retrying changes a task's state: the "change" permission on task results (superusers have it).
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('change', self.opts)}")

    @admin.action(description=_("Retry the selected failed tasks"), permissions=["retry"])
    def retry_failed_tasks(self, request, queryset):
        queued = retry_failed(queryset)
        skipped = queryset.count() - queued
        message = ngettext("%(count)d failed task queued again.", "%(count)d failed tasks queued again.",
                           queued) % {"count": queued}
        if skipped:
            message += " " + ngettext("%(count)d not failed, left alone.", "%(count)d not failed, left alone.",
                                      skipped) % {"count": skipped}
        self.message_user(request, message, messages.SUCCESS)
