"""A user's second factors: an authenticator app (TOTP), security keys and passkeys (WebAuthn), and single-use
recovery codes."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuthenticatorQuerySet(models.QuerySet):
    def active(self):
        """The factors a user can answer with: an authenticator app counts once its first code confirmed it."""
        return self.filter(confirmed_at__isnull=False)


class Authenticator(models.Model):
    """One second factor of a user. Never holds a secret in the clear: an app's secret is encrypted in the MFA
    vault (mfa.crypto), bound to this row and its user; a security key leaves only its public key here."""

    class Kind(models.TextChoices):
        TOTP = "totp", _("Authenticator app")
        WEBAUTHN = "webauthn", _("Security key or passkey")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authenticators",
                             verbose_name=_("user"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)
    # An authenticator app is a factor only once a code from it proved it was set up: until then, null.
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    secret = models.BinaryField(editable=False, default=b"")
    # The 30-second step of the last code accepted: a code of that step or an earlier one is refused (replay).
    last_used_step = models.BigIntegerField(null=True, blank=True, editable=False)
    # A WebAuthn credential: its id (base64url, as browsers give it), its COSE public key, the signature counter
    # it last reported (a lower or equal one later means a cloned key), and whether it is a passkey (kept on the
    # device and verifying its user, so it can sign in without a password).
    credential_id = models.CharField(max_length=1400, unique=True, null=True, blank=True, editable=False)
    public_key = models.BinaryField(null=True, editable=False)
    sign_count = models.BigIntegerField(default=0, editable=False)
    passkey = models.BooleanField(_("passkey"), default=False, editable=False)

    objects = AuthenticatorQuerySet.as_manager()

    class Meta:
        verbose_name = _("second factor")
        verbose_name_plural = _("second factors")
        ordering = ["user", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(kind="totp"), name="mfa_one_totp_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.user_id})"


class RecoveryCode(models.Model):
    """One single-use recovery code, kept as its SHA-256: the codes are 80 random bits, so the hash cannot be
    reversed by guessing, and needs no key that a rotation could lose."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes",
                             verbose_name=_("user"))
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"], name="mfa_recovery_code_unique")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} ({self.user_id})"
