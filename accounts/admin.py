"""Admin for operators: users, with their sessions inline, and actions that call the account and session
services (the same functions as the API), so each rule, audit record and revocation is the same.

Passwords are set only through Django's change-password form (or a reset email); no form shows or sets
a token hash. The admin site itself (its throttled login) is in admin_site.py.
"""
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.db.models import Count
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from authcore.requestmeta import client_info
from sessions_app.admin import SessionInline, counted_sessions
from sessions_app.models import Session, alive_session_q
from sessions_app.services import end_user_sessions

from .flows import deactivation, deletion, passwords, verification
from .forms import PasswordLengthCapMixin
from .languages import language_choices
from .models import User
from .names import NameField


# The name through the same field as the pages and the API (accounts.names): normalised, then checked.
class UserCreationForm(PasswordLengthCapMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")
        field_classes = {"name": NameField}


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"name": NameField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A list of the languages the service speaks (read now: settings.LANGUAGES), not a free text box.
        language = self.fields["language"]
        language.widget = forms.Select(choices=[("", _("(the default language)")), *language_choices()])


def counted_users(number: int) -> str:
    """For admin messages: "1 user", "3 users", in the operator's language."""
    return ngettext("%(count)d user", "%(count)d users", number) % {"count": number}


class EmailVerifiedFilter(admin.SimpleListFilter):
    title = _("email verified")
    parameter_name = "verified"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(email_verified_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(email_verified_at__isnull=True)
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("name", "language")}),
        (_("Status"), {"fields": ("is_active", "email_verified_at")}),
        (_("Permissions"), {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined", "password_changed_at")}),
        (_("Sessions"), {"fields": ("sessions_overview",)}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "usable_password", "password1", "password2")}),
    )
    # Verification goes through the "mark email verified" action (the service sends the signal and writes
    # the audit record), never through a date typed into the form.
    readonly_fields = ("email_verified_at", "last_login", "date_joined", "password_changed_at", "sessions_overview")
    list_display = ("email", "name", "verified", "is_active", "is_staff", "date_joined", "last_login",
                    "active_sessions")
    list_filter = (EmailVerifiedFilter, "is_active", "is_staff", "date_joined")
    search_fields = ("email", "name")
    ordering = ("-date_joined",)
    inlines = (SessionInline,)
    actions = ("end_all_sessions", "deactivate", "send_password_reset", "mark_email_verified")

    def get_queryset(self, request):
        # One aggregate in the same query, so listing users costs the same however many there are.
        alive = alive_session_q(prefix="auth_sessions__")
        return super().get_queryset(request).annotate(active_session_count=Count("auth_sessions", filter=alive))

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, SessionInline) and obj is not None:
            kwargs["queryset"] = inline.live_sessions_of(obj)
        return kwargs

    @admin.display(description=_("sessions"))
    def sessions_overview(self, user: User) -> str:
        if user.pk is None:
            return "-"
        live = getattr(user, "active_session_count", None)
        if live is None:  # a user not loaded through this admin's queryset (which counts them in the same query)
            live = Session.objects.alive().filter(user=user).count()
        shown = min(live, SessionInline.LIVE_SESSIONS_SHOWN)
        url = SessionInline(self.model, self.admin_site).sessions_changelist_url(user)
        # Two whole sentences, each with its own number, and the link.
        return format_html(
            '{} {} <a href="{}">{}</a>',
            ngettext("%(count)d live session.", "%(count)d live sessions.", live) % {"count": live},
            ngettext("The most recently used is listed below.",
                     "The %(count)d most recently used are listed below.", shown) % {"count": shown} if shown else "",
            url, gettext("All sessions of this user, ended ones included"))

    @admin.display(boolean=True, description=_("verified"), ordering="email_verified_at")
    def verified(self, user: User) -> bool:
        return user.email_verified

    @admin.display(description=_("active sessions"), ordering="active_session_count")
    def active_sessions(self, user: User) -> int:
        return user.active_session_count

    # Actions: each calls the service with actor=request.user, so the security event names the operator.

    @admin.action(description=_("End all sessions of the selected users"), permissions=("change",))
    def end_all_sessions(self, request, queryset):
        client = client_info(request)
        ended = sum(
            end_user_sessions(user=user, reason=Session.RevokeReason.ENDED_BY_ADMIN, actor=request.user, client=client)
            for user in queryset
        )
        self.message_user(request, gettext("Ended %(sessions)s of %(users)s.") % {
            "sessions": counted_sessions(ended), "users": counted_users(len(queryset))}, messages.SUCCESS)

    @admin.action(description=_("Deactivate the selected users (ends their sessions)"), permissions=("change",))
    def deactivate(self, request, queryset):
        if queryset.filter(pk=request.user.pk).exists():
            # The service refuses it too; checked first so no one in the selection is half-processed.
            self.message_user(request, gettext("You cannot deactivate your own account."), messages.ERROR)
            return
        client = client_info(request)
        users = list(queryset.filter(is_active=True))
        ended = sum(deactivation.deactivate_user(user=user, actor=request.user, client=client) for user in users)
        self.message_user(request, gettext("Deactivated %(users)s and ended %(sessions)s.") % {
            "users": counted_users(len(users)), "sessions": counted_sessions(ended)}, messages.SUCCESS)

    @admin.action(description=_("Send a password-reset email"), permissions=("change",))
    def send_password_reset(self, request, queryset):
        client = client_info(request)
        users = list(queryset)
        for user in users:
            passwords.send_password_reset_email(user=user, actor=request.user, client=client)
        self.message_user(request, gettext("Sent a password-reset email to %(users)s.") % {
            "users": counted_users(len(users))}, messages.SUCCESS)

    @admin.action(description=_("Mark email verified"), permissions=("change",))
    def mark_email_verified(self, request, queryset):
        client = client_info(request)
        users = list(queryset)
        marked = sum(verification.mark_email_verified(user=user, actor=request.user, client=client) for user in users)
        already = len(users) - marked
        self.message_user(request, gettext("Marked %(users)s verified (%(already)d already verified).") % {
            "users": counted_users(marked), "already": already}, messages.SUCCESS)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        # Deactivating oneself is refused by the service; do not offer it in the form either.
        return (*fields, "is_active") if obj is not None and obj.pk == request.user.pk else fields

    def log_change(self, request, obj, message):
        # Django's set-password page saves the user and then logs the change: tell the operator what the
        # save did (User.save ends every session after a new password).
        ended = getattr(obj, "sessions_ended_by_password_change", None)
        if ended is not None:
            self.message_user(request, gettext("Ended %(sessions)s of %(user)s.") % {
                "sessions": counted_sessions(ended), "user": obj}, messages.SUCCESS)
        return super().log_change(request, obj, message)

    def save_model(self, request, obj, form, change):
        # Unticking "active" is a deactivation: it goes through the service, which ends every session and
        # records who did it, exactly like the action. Before the form's save: saving an inactive user ends
        # the sessions too (User.save), but silently, so the count below would always be 0.
        if change and "is_active" in form.changed_data and not obj.is_active:
            ended = deactivation.deactivate_user(user=obj, actor=request.user, client=client_info(request))
            self.message_user(request, gettext("Deactivated %(user)s and ended %(sessions)s.") % {
                "user": obj, "sessions": counted_sessions(ended)}, messages.SUCCESS)
        super().save_model(request, obj, form, change)

    # Deleting, from the user's page or the "delete selected" action, is the same deletion as the user's own
    # (accounts.flows.deletion.erase_account): sessions end at once, it is audited with the operator as actor,
    # and the address is told.
    def has_delete_permission(self, request, obj=None):
        # An operator's own account is deleted by its owner, with its password, not from the admin.
        if obj is not None and obj.pk == request.user.pk:
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        """The confirmation page's summary, counted rather than listed: Django would load and list every
        session and refresh token of the accounts (thousands for a long-lived one). The sessions go with the
        account (erase_account ends them first, so the ending is recorded), although the admin cannot delete
        a session on its own; the per-account permission (not one's own account) is still checked here."""
        users = list(objs)
        perms_needed = {self.opts.verbose_name for user in users if not self.has_delete_permission(request, user)}
        sessions = Session.objects.filter(user__in=users).count()
        summary = [format_html("{}: {}", capfirst(self.opts.verbose_name), user) for user in users]
        summary.append(gettext("%(sessions)s and their refresh tokens") % {"sessions": counted_sessions(sessions)})
        counts = {self.opts.verbose_name_plural: len(users), Session._meta.verbose_name_plural: sessions}
        return summary, counts, perms_needed, []

    def delete_model(self, request, obj):
        deletion.erase_account(user=obj, actor=request.user, client=client_info(request))

    def delete_queryset(self, request, queryset):
        client = client_info(request)
        for user in queryset.exclude(pk=request.user.pk):
            deletion.erase_account(user=user, actor=request.user, client=client)
