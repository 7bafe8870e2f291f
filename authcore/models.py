"""The security log. Kinds are plain strings, OWASP Logging Vocabulary names, each declared with what it means
(authcore.audit.declare_event) by the app that records it (authcore.ratelimit.RATE_LIMITED here, an `events`
module in each app)."""
from django.conf import settings
from django.db import models
from django.utils import timezone


class SecurityEvent(models.Model):
    """An audit record: what happened, to whom, done by whom, from where."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="security_events"
    )
    # The operator who acted, for admin actions.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The operator's id as a plain value: deleting the operator's account clears `actor`, and the trail must
    # still say that an operator acted, and which one.
    actor_ref = models.CharField(max_length=64, blank=True, editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    # A plain value, not a foreign key: the event outlives the purged session.
    session_id = models.UUIDField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        # The table the model had when it lived in sessions_app; moving it changed no data.
        db_table = "sessions_app_securityevent"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "created_at"], name="securityevent_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M:%S}"
