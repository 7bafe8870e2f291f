"""A login session is a family of refresh tokens: one login, then one token per rotation.

Only SHA-256 hashes of refresh tokens are stored. The session row holds the family's live state: the hash
of its one live token (`current_token_hash`) and of the token it replaced (`previous_token_hash`, for the
grace interval). Every token ever issued has a RefreshToken row pointing at the token it replaced
(`parent`): that history is how a spent token presented again is recognised as a replay.
"""
import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def alive_session_q(now: datetime | None = None, prefix: str = "") -> Q:
    """The one definition of a live session: not revoked, not past the absolute lifetime, not idle for too
    long. `prefix` applies it across a relation (e.g. "auth_sessions__" from the user)."""
    now = now or timezone.now()
    return Q(**{f"{prefix}revoked_at__isnull": True, f"{prefix}expires_at__gt": now,
                f"{prefix}idle_expires_at__gt": now})


class SessionQuerySet(models.QuerySet):
    def alive(self, now: datetime | None = None) -> "SessionQuerySet":
        return self.filter(alive_session_q(now))

    def dead(self, now: datetime | None = None) -> "SessionQuerySet":
        now = now or timezone.now()
        return self.exclude(alive_session_q(now))


class Session(models.Model):
    class RevokeReason(models.TextChoices):
        LOGOUT = "logout", "Logged out"
        LOGOUT_ALL = "logout_all", "Logged out everywhere"
        LOGOUT_OTHERS = "logout_others", "Logged out of the other sessions"
        ENDED_BY_USER = "ended_by_user", "Ended by the user"
        ENDED_BY_ADMIN = "ended_by_admin", "Ended by an administrator"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET = "password_reset", "Password reset"
        USER_DEACTIVATED = "user_deactivated", "User deactivated"
        TOKEN_REUSED = "refresh_token_reused", "Refresh token reused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auth_sessions")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="Absolute expiry, fixed at login; rotation never extends it.")
    idle_expires_at = models.DateTimeField(help_text="Moves forward with each refresh, never past expires_at.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, choices=RevokeReason.choices, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    device = models.CharField(max_length=128, blank=True)
    # Rotation state. Rotating is a compare-and-set on current_token_hash, so of any number of concurrent
    # refreshes with the same token exactly one wins, and the family can never have two live tokens.
    current_token_hash = models.CharField(max_length=64, editable=False)
    previous_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["-last_used_at"]
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="session_user_revoked_idx"),
            models.Index(fields=["expires_at"], name="session_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.device or 'session'} ({self.id})"

    def is_alive(self, now: datetime | None = None) -> bool:
        """alive_session_q, for a row already loaded."""
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now and self.idle_expires_at > now

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.is_alive() else "expired"


class RefreshToken(models.Model):
    id = models.BigAutoField(primary_key=True)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="refresh_tokens")
    # SHA-256 hex of the 256-bit random token; the raw value exists only in the client's hands.
    token_hash = models.CharField(max_length=64, unique=True)
    # DO_NOTHING: a family's tokens are always deleted together with their session, in one statement.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="children")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"refresh token {self.pk} of session {self.session_id}"


class SecurityEvent(models.Model):
    """An audit record; kinds use OWASP Logging Vocabulary names."""

    class Kind(models.TextChoices):
        LOGIN_SUCCESS = "authn_login_success", "Login succeeded"
        LOGIN_FAIL = "authn_login_fail", "Login failed"
        LOGIN_UNVERIFIED = "authn_login_unverified", "Login refused: email not verified"
        LOGIN_LOCKED = "authn_login_lock", "Login locked after repeated failures"
        TOKEN_REUSE = "authn_token_reuse", "Refresh token reused"
        SESSION_REVOKED = "authn_token_revoked", "Session ended"
        PASSWORD_CHANGED = "authn_password_change", "Password changed"
        PASSWORD_CHANGE_FAIL = "authn_password_change_fail", "Password change failed"
        PASSWORD_RESET_REQUESTED = "authn_password_reset_request", "Password reset requested"
        PASSWORD_RESET = "authn_password_reset", "Password reset"
        USER_REGISTERED = "user_created", "User registered"
        EMAIL_VERIFIED = "user_email_verified", "Email verified"
        USER_DEACTIVATED = "user_deactivated", "User deactivated"
        RATE_LIMITED = "excess_rate_limit_exceeded", "Rate limit exceeded"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=40, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="security_events"
    )
    # The operator who acted, for admin actions.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    # A plain value, not a foreign key: the event outlives the purged session.
    session_id = models.UUIDField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "created_at"], name="securityevent_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M:%S}"
