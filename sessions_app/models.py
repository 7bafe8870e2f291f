"""A login session is a family of refresh tokens: one login, then one token per rotation.

Only SHA-256 hashes of refresh tokens are stored. The session row holds the family's live state: the hash
of its one live token (`current_token_hash`) and of the token it replaced (`previous_token_hash`, for the
grace interval). Every token ever issued has a RefreshToken row pointing at the token it replaced
(`parent`): that history is how a spent token presented again is recognised as a replay.
"""
from datetime import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# The one definition of a live session: not revoked, not past the absolute lifetime, not idle for too long.
# Each condition is (field, "isnull") or (field, "after now"); the ORM filter, the check of a loaded row and
# the hand-written SQL of the one-statement rotation are all made from it.
ALIVE_CONDITIONS = (("revoked_at", "isnull"), ("expires_at", "after now"), ("idle_expires_at", "after now"))


def alive_session_q(now: datetime | None = None, prefix: str = "") -> Q:
    """ALIVE_CONDITIONS as a filter. `prefix` applies it across a relation (e.g. "auth_sessions__" from
    the user)."""
    now = now or timezone.now()
    return Q(**{(f"{prefix}{field}__isnull" if test == "isnull" else f"{prefix}{field}__gt"):
                (True if test == "isnull" else now) for field, test in ALIVE_CONDITIONS})


def alive_session_sql(table_alias: str, now_parameter: str) -> str:
    """ALIVE_CONDITIONS as SQL over the session table aliased `table_alias`, with the time as the named
    parameter `now_parameter` (for statements written by hand)."""
    return " AND ".join(f"{table_alias}.{field} IS NULL" if test == "isnull" else
                        f"{table_alias}.{field} > %({now_parameter})s" for field, test in ALIVE_CONDITIONS)


# The `amr` value (RFC 8176) of a sign-in that took more than one factor: a session that has it was opened with a
# second factor.
SECOND_FACTOR_METHOD = "mfa"

class SessionQuerySet(models.QuerySet):
    def alive(self, now: datetime | None = None) -> "SessionQuerySet":
        return self.filter(alive_session_q(now))

    def dead(self, now: datetime | None = None) -> "SessionQuerySet":
        now = now or timezone.now()
        return self.exclude(alive_session_q(now))


# Why a session ended: a plain string, with a label for people. Sessions declare their own reasons here;
# the apps that end sessions for reasons of their own (a password reset, say) declare theirs with
# `declare_revoke_reason`, so this module never has to change for them.
REVOKE_REASON_LABELS: dict[str, str] = {}


def declare_revoke_reason(value: str, label: str) -> str:
    REVOKE_REASON_LABELS[value] = label
    return value


class RevokeReason:
    LOGOUT = declare_revoke_reason("logout", _("Logged out"))
    LOGOUT_ALL = declare_revoke_reason("logout_all", _("Logged out everywhere"))
    LOGOUT_OTHERS = declare_revoke_reason("logout_others", _("Logged out of the other sessions"))
    ENDED_BY_USER = declare_revoke_reason("ended_by_user", _("Ended by the user"))
    ENDED_BY_ADMIN = declare_revoke_reason("ended_by_admin", _("Ended by an administrator"))
    # The user's is_active went false (Django's auth model, whatever set it).
    USER_DEACTIVATED = declare_revoke_reason("user_deactivated", _("User deactivated"))
    TOKEN_REUSED = declare_revoke_reason("refresh_token_reused", _("Refresh token reused"))
    # A sign-in took the user past SESSIONS_APP["MAX_SESSIONS_PER_USER"]: their oldest sessions made room.
    SESSION_LIMIT = declare_revoke_reason("session_limit", _("Ended: too many sessions"))


DEVICE_NAME_MAX_LENGTH = 64


class Session(models.Model):
    RevokeReason = RevokeReason

    class Transport(models.TextChoices):
        """How the session's refresh token travels (sessions_app/api/transport.py), chosen at login."""

        BODY = "body", _("JSON body")
        COOKIE = "cookie", _("HttpOnly cookie")
        # A sign-in on the account pages (sessions_app/browser.py): the refresh token never leaves the server;
        # the browser holds Django's session cookie, which names this row.
        BROWSER = "browser", _("Browser sign-in")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auth_sessions",
                             verbose_name=_("user"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"),
                                      help_text=_("Absolute expiry, fixed at login; rotation never extends it."))
    idle_expires_at = models.DateTimeField(_("idle expiry"),
                                           help_text=_("Moves forward with each refresh, never past expires_at."))
    # How the user proved who they are at sign-in (RFC 8176 `amr` values, space-separated: "pwd" for a
    # password); the access tokens carry them.
    auth_methods = models.CharField(_("sign-in methods"), max_length=64, default="pwd", editable=False)
    # When the user last proved who they are in this session after signing in (accounts.flows.reauthentication):
    # a sensitive page asks again only once this is older than ACCOUNTS["REAUTH_WINDOW"].
    reauthenticated_at = models.DateTimeField(_("password confirmed at"), null=True, blank=True, editable=False)
    # (Also set by a confirmation with a second factor; the label predates it.)
    # When the user last proved a second factor in a reauthentication of this session: changing the factors of
    # an account that has one asks for this to be recent, so neither a password nor a stolen session alone can.
    factor_proved_at = models.DateTimeField(_("second factor proved at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    revoke_reason = models.CharField(_("reason ended"), max_length=32, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    device = models.CharField(_("device"), max_length=128, blank=True)  # parsed from the user agent
    device_name = models.CharField(_("device name"), max_length=DEVICE_NAME_MAX_LENGTH, blank=True,
                                   help_text=_("Chosen by the client at login, e.g. \"Alice's iPhone\"."))
    transport = models.CharField(_("transport"), max_length=8, choices=Transport.choices, default=Transport.BODY)
    # An opaque id of the client device the session was started from, chosen by the app that opened it
    # (accounts: the id its device cookie carries). Sessions started from one device share it, so a device
    # can be found, and ended, as a whole.
    device_id = models.CharField(max_length=32, blank=True, editable=False)
    # DPoP (sessions_app/dpop.py): the thumbprint of the key the session was bound to at sign-in; its refresh token
    # then works only with a proof by that key, and its access tokens carry it (cnf.jkt). "" for a bearer session.
    dpop_jkt = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Rotation state. Rotating is a compare-and-set on current_token_hash, so of any number of concurrent
    # refreshes with the same token exactly one wins, and the family can never have two live tokens.
    current_token_hash = models.CharField(max_length=64, editable=False)
    previous_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = SessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-last_used_at"]
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="session_user_revoked_idx"),
            models.Index(fields=["expires_at"], name="session_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.device_name or self.device or gettext('session')} ({self.id})"

    def is_alive(self, now: datetime | None = None) -> bool:
        """alive_session_q, for a row already loaded."""
        now = now or timezone.now()
        return all(getattr(self, field) is None if test == "isnull" else getattr(self, field) > now
                   for field, test in ALIVE_CONDITIONS)

    @property
    def amr(self) -> list[str]:
        return self.auth_methods.split()

    @property
    def authenticated_at(self) -> datetime:
        """When the user last proved who they are in this session: the sign-in, or a later reauthentication."""
        return max(self.created_at, self.reauthenticated_at or self.created_at)

    def get_revoke_reason_display(self) -> str:
        return REVOKE_REASON_LABELS.get(self.revoke_reason, self.revoke_reason)

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
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"refresh token {self.pk} of session {self.session_id}"
