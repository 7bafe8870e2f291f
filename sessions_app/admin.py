"""Admin for operators: sessions (the security log is authcore's).

Sessions are read-only here; the one change an operator can make is to end them, and that goes through
`services.end_session` / `services.end_sessions`, the same functions as the API, so the audit record and
the immediate effect on access tokens are the same. Token hashes are never shown: RefreshToken is
deliberately not registered, and the session pages list explicit fields that leave out the session's own
`current_token_hash` / `previous_token_hash`. Nothing here imports `accounts` (any AUTH_USER_MODEL works).
"""
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from authcore.admin import ReadOnlyAdminMixin, user_email_lookup
from authcore.requestmeta import client_info

from .models import Session
from .services import end_session, end_sessions

USER_EMAIL_LOOKUP = user_email_lookup()


def counted_sessions(number: int) -> str:
    """For admin messages: "1 session", "3 sessions", in the operator's language."""
    return ngettext("%(count)d session", "%(count)d sessions", number) % {"count": number}


STATES = {"active": pgettext_lazy("session state", "active"), "expired": pgettext_lazy("session state", "expired")}


def session_state(session: Session) -> str:
    if session.revoked_at is not None:
        return gettext("revoked: %(reason)s") % {
            "reason": session.get_revoke_reason_display() or gettext("no reason")}
    return STATES[session.state]


class SessionDisplayMixin:
    def end_next_url(self, session: Session) -> str:
        """Where the end-session page returns to; empty: the session's own page."""
        return ""

    @admin.display(description=_("state"))
    def state_display(self, session: Session) -> str:
        return session_state(session)

    @admin.display(description=_("end"))
    def end_control(self, session: Session) -> str:
        if session.pk is None or not session.is_alive():
            return "-"
        # A link to a confirmation page that POSTs with CSRF, not a button inside the change form: a
        # submit button there would become the form's default button, so pressing Enter in any field of
        # the user form would end a session.
        url = reverse(f"{self.admin_site.name}:sessions_app_session_end", args=[session.pk])
        if next_url := self.end_next_url(session):
            url += "?" + urlencode({"next": next_url})
        return format_html('<a class="button end-session" href="{}">{}</a>', url, gettext("End session"))


class SessionStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", pgettext_lazy("sessions", "Active")), ("revoked", pgettext_lazy("sessions", "Revoked")),
                ("expired", pgettext_lazy("sessions", "Expired"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.alive(now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True).dead(now)
        return queryset


@admin.register(Session)
class SessionAdmin(SessionDisplayMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "device_name", "device", "ip_address", "created_at", "last_used_at", "expires_at",
                    "state_display")
    list_filter = (SessionStateFilter, "revoke_reason")
    search_fields = (USER_EMAIL_LOOKUP, "ip_address")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    list_per_page = 100
    actions = ("end_selected_sessions",)
    fields = ("user", "state_display", "device_name", "device", "user_agent", "ip_address", "transport",
              "created_at", "last_used_at", "idle_expires_at", "expires_at", "revoked_at", "revoke_reason",
              "end_control")

    def lookup_allowed(self, lookup, value, request=None):
        # The session row holds the hash of its live refresh token: no filtering on it through the URL
        # either (?current_token_hash__startswith=... would be an oracle that reveals it).
        return "token_hash" not in lookup and super().lookup_allowed(lookup, value, request)

    # Deleting is not how a session ends (it would leave no revocation record); ending one is the only
    # change allowed, and it needs the model's change permission.
    def has_end_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.action(description=_("End selected sessions"), permissions=("end",))
    def end_selected_sessions(self, request, queryset):
        ended = end_sessions(sessions=queryset, reason=Session.RevokeReason.ENDED_BY_ADMIN, actor=request.user,
                             client=client_info(request))
        self.message_user(request, gettext("Ended %(sessions)s.") % {"sessions": counted_sessions(ended)},
                          messages.SUCCESS)

    def get_urls(self):
        end = path("<path:object_id>/end/", self.admin_site.admin_view(self.end_view),
                   name=f"{self.opts.app_label}_{self.opts.model_name}_end")
        return [end, *super().get_urls()]

    def end_view(self, request, object_id):
        """GET: a confirmation page. POST (CSRF-checked by admin_view): end the session."""
        if not self.has_end_permission(request):
            raise PermissionDenied
        session = self.get_object(request, unquote(object_id))
        if session is None:
            raise Http404
        next_url = request.POST.get("next") or request.GET.get("next")
        # Only same-site redirects: `next` comes from the query string.
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            next_url = reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change",
                               args=[session.pk])
        if request.method == "POST":
            if end_session(session=session, reason=Session.RevokeReason.ENDED_BY_ADMIN, actor=request.user,
                           client=client_info(request)):
                self.message_user(request, gettext("Ended %(sessions)s.") % {"sessions": counted_sessions(1)},
                                  messages.SUCCESS)
            else:
                self.message_user(request, gettext("That session had already ended."), messages.WARNING)
            return HttpResponseRedirect(next_url)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("End session"),
            "opts": self.opts,
            "session": session,
            "state": session_state(session),
            "alive": session.is_alive(),
            "next_url": next_url,
        }
        return TemplateResponse(request, "admin/sessions_app/session/end_session.html", context)


class SessionInline(SessionDisplayMixin, ReadOnlyAdminMixin, admin.TabularInline):
    """A user's live sessions on the user's change page (the most recently used LIVE_SESSIONS_SHOWN of
    them: a user's page must not grow with years of sessions), each with a link to end it. The user admin
    passes the queryset (`live_sessions_of`) and links to the full, filtered session list
    (`sessions_changelist_url`)."""

    LIVE_SESSIONS_SHOWN = 20

    model = Session
    fields = ("device_name", "device", "ip_address", "created_at", "last_used_at", "expires_at", "state_display",
              "end_control")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    @classmethod
    def live_sessions_of(cls, user):
        shown = Session.objects.alive().filter(user=user).order_by("-last_used_at").values("pk")
        return Session.objects.filter(pk__in=shown[:cls.LIVE_SESSIONS_SHOWN]).order_by("-last_used_at")

    def sessions_changelist_url(self, user) -> str:
        return reverse(f"{self.admin_site.name}:sessions_app_session_changelist") + f"?user__id__exact={user.pk}"

    def end_next_url(self, session: Session) -> str:
        user_opts = get_user_model()._meta
        return reverse(f"{self.admin_site.name}:{user_opts.app_label}_{user_opts.model_name}_change",
                       args=[session.user_id])
