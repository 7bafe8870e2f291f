"""A user's connection to a third-party provider, with the provider's tokens encrypted (connections.crypto),
and the authorizations in progress."""
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import crypto

TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")


class Connection(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        # The provider refused the refresh token (invalid_grant): the user must connect again.
        NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnect")
        # Disconnected: the tokens were revoked at the provider (where it could be reached) and deleted.
        REVOKED = "revoked", _("Revoked")

    # Chosen here, not by the database: a ciphertext is bound to its row id (connections.crypto), so the id
    # must exist before the first token is encrypted.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections",
                             verbose_name=_("user"))
    provider = models.CharField(_("provider"), max_length=64)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    # Metadata, readable without decrypting anything ("token info").
    scopes = models.CharField(_("scopes"), max_length=1000, blank=True, help_text=_("As granted by the provider."))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True,
                                      help_text=_("When the access token expires."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    connected_at = models.DateTimeField(_("connected at"), default=timezone.now,
                                        help_text=_("When tokens were last stored by a connect."))
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    # The last refresh that failed for a network reason: callers wait REFRESH_RETRY_AFTER before the next try.
    refresh_failed_at = models.DateTimeField(null=True, blank=True)
    # The ciphertexts (never shown anywhere), and which key made them (for re-encryption in batches).
    access_token_ciphertext = models.BinaryField(null=True, editable=False)
    refresh_token_ciphertext = models.BinaryField(null=True, editable=False)
    id_token_ciphertext = models.BinaryField(null=True, editable=False)
    key_id = models.BinaryField(max_length=crypto.KEY_ID_BYTES, null=True, editable=False)

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        constraints = [models.UniqueConstraint(fields=["user", "provider"], name="connection_user_provider_unique")]
        ordering = ["provider"]

    def __str__(self) -> str:
        return gettext("%(provider)s for %(user)s") % {"provider": self.provider, "user": self.user_id}

    def bound_to(self, field: str) -> bytes:
        """The associated data of a ciphertext: this row, its user, its provider and the field."""
        return f"connections:{self.pk}:{self.user_id}:{self.provider}:{field}".encode()

    def store_token(self, field: str, value: str | None) -> None:
        encrypted = crypto.encrypt(value, bound_to=self.bound_to(field)) if value else None
        setattr(self, f"{field}_ciphertext", encrypted)

    def read_token(self, field: str) -> str | None:
        value = getattr(self, f"{field}_ciphertext")
        return crypto.decrypt(value, bound_to=self.bound_to(field)) if value else None

    def store_tokens(self, **values: str | None) -> None:
        for field in TOKEN_FIELDS:
            self.store_token(field, values.get(field))
        self.key_id = crypto.current_key_id()

    def forget_tokens(self) -> None:
        for field in TOKEN_FIELDS:
            setattr(self, f"{field}_ciphertext", None)
        self.key_id = None


class PendingConnection(models.Model):
    """A connection started and not yet completed: the `state` of the authorization request (stored as a
    hash: the value itself only travels in the URL), who started it, and the PKCE verifier. Deleted when it
    is used, so a state works once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=64)
    redirect_uri = models.CharField(max_length=500)
    code_verifier_ciphertext = models.BinaryField()
    # The hash of a random value kept in an HttpOnly cookie of the browser that started it: the callback page
    # completes a connection only in that browser (else a victim could be sent to complete someone else's).
    browser_binding_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.provider} connection started by {self.user_id}"

    def bound_to(self) -> bytes:
        return f"connections.pending:{self.state_hash}:{self.user_id}:{self.provider}".encode()
