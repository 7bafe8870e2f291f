"""The security log. Kinds are plain strings, OWASP Logging Vocabulary names, each declared with what it means
(authcore.audit.declare_event) by the app that records it (authcore.ratelimit.RATE_LIMITED here, an `events`
module in each app)."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class SecurityEvent(models.Model):
    """An audit record: what happened, to whom, done by whom, from where."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(_("kind"), max_length=40)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="security_events",
        verbose_name=_("user"))
    # The operator who acted, for admin actions.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("operator"))
    # The operator's id as a plain value: deleting the operator's account clears `actor`, and the trail must
    # still say that an operator acted, and which one.
    actor_ref = models.CharField(_("operator reference"), max_length=64, blank=True, editable=False)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    # A plain value, not a foreign key: the event outlives the purged session.
    session_id = models.UUIDField(_("session"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        # The table the model had when it lived in sessions_app; moving it changed no data.
        db_table = "sessions_app_securityevent"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "created_at"], name="securityevent_kind_idx")]

    def __str__(self) -> str:
        # The admin's title for the event, in the operator's language.
        return gettext("%(kind)s at %(time)s") % {"kind": self.kind, "time": f"{self.created_at:%Y-%m-%d %H:%M:%S}"}
