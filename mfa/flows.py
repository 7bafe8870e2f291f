"""Managing second factors, the one service layer the API, the pages and the admin call: add an authenticator
app, confirm it, remove it, make new recovery codes, turn MFA off, an operator's reset; and `MfaSecondFactor`,
the answer checks the login and reauthentication flows of accounts call (accounts.second_factor).

Who may change them: every change asks for a recent proof in the caller's session (SESSIONS_APP
RECENT_AUTHENTICATION_WINDOW), so a stolen access token alone changes nothing; and once the account has a second
factor, that proof must have been a second factor (sessions_app.services.require_recent_factor). Otherwise a
thief who knows the password could add their own authenticator, or make recovery codes, and then remove the
owner's: a password alone never changes the factors of an account that has one.
"""
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts import emails
from accounts.conf import app_settings as accounts_settings
from accounts.second_factor import FactorAnswer, Verified
from authcore.audit import record_security_event
from authcore.errors import ServiceError
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo
from sessions_app.services import require_recent_authentication, require_recent_factor

from . import events, limits, recovery_codes, totp
from .conf import app_settings
from .crypto import bound_to, vault
from .models import Authenticator, RecoveryCode

OTP_METHOD = "otp"  # RFC 8176: a one-time password, an app's code or a recovery code alike


@dataclass(frozen=True)
class MfaStatus:
    enabled: bool  # the account has a second factor: a login asks for it
    totp: Authenticator | None  # the confirmed authenticator app
    recovery_codes_left: int

    @property
    def methods(self) -> list[str]:
        if not self.enabled:
            return []
        return (["totp"] if self.totp else []) + (["recovery_code"] if self.recovery_codes_left else [])


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str
    qr_code_svg: str


def status(user) -> MfaStatus:
    authenticator = Authenticator.objects.active().filter(user=user, kind=Authenticator.Kind.TOTP).first()
    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() if authenticator else 0
    return MfaStatus(enabled=authenticator is not None, totp=authenticator, recovery_codes_left=left)


def has_second_factor(user) -> bool:
    return Authenticator.objects.active().filter(user=user).exists()


def _require_proof_for_change(user, session_id) -> None:
    """See the module docstring: a recent factor for an account with one, else a recent sign-in or password."""
    if has_second_factor(user):
        require_recent_factor(user=user, session_id=session_id)
    else:
        require_recent_authentication(user=user, session_id=session_id)


# --- an authenticator app ----------------------------------------------------------------------------------------
def start_totp(*, user, session_id, client: ClientInfo) -> TotpEnrolment:
    """A new secret for an authenticator app, not yet a factor: `confirm_totp` with a code from the app makes it
    one. Starting again replaces a secret not yet confirmed; an account has at most one app (409
    `totp_already_enabled`: remove it first)."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    _require_proof_for_change(user, session_id)
    secret = totp.new_secret()
    with transaction.atomic():
        Authenticator.objects.filter(user=user, kind=Authenticator.Kind.TOTP, confirmed_at__isnull=True).delete()
        if Authenticator.objects.filter(user=user, kind=Authenticator.Kind.TOTP).exists():
            raise ServiceError("totp_already_enabled")
        authenticator = Authenticator(user=user, kind=Authenticator.Kind.TOTP)
        authenticator.secret = vault.encrypt(secret, bound_to=bound_to(authenticator))
        authenticator.save()
    return _enrolment(user, secret)


def pending_totp(*, user, session_id) -> TotpEnrolment | None:
    """The authenticator app started and not yet confirmed, shown again (the page that shows its QR code reloads):
    the same recent proof as starting it, since its secret is about to be a factor."""
    pending = Authenticator.objects.filter(user=user, kind=Authenticator.Kind.TOTP, confirmed_at__isnull=True).first()
    if pending is None:
        return None
    _require_proof_for_change(user, session_id)
    return _enrolment(user, vault.decrypt(pending.secret, bound_to=bound_to(pending)))


def _enrolment(user, secret: str) -> TotpEnrolment:
    issuer = app_settings.TOTP_ISSUER or accounts_settings.SITE_NAME
    uri = totp.provisioning_uri(secret, account=user.email, issuer=issuer)
    return TotpEnrolment(secret=secret, uri=uri, qr_code_svg=totp.qr_code_svg(uri, title=issuer))


def confirm_totp(*, user, session_id, code: str, client: ClientInfo) -> list[str]:
    """Make the started authenticator app a factor with a code from it. Returns the new recovery codes when this
    is the account's first factor (shown once), else []."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    _require_proof_for_change(user, session_id)
    pending = Authenticator.objects.filter(user=user, kind=Authenticator.Kind.TOTP, confirmed_at__isnull=True).first()
    if pending is None:
        raise ServiceError("totp_not_started")
    typed = totp.normalise(code)
    step = totp.matching_step(vault.decrypt(pending.secret, bound_to=bound_to(pending)), typed, after=None,
                              tolerance=app_settings.TOTP_TOLERANCE_STEPS) if typed else None
    if step is None:
        record_security_event(events.FACTOR_CONFIRM_FAIL, user=user, client=client, session_id=session_id)
        raise ServiceError("mfa_code_incorrect")
    now = timezone.now()
    with transaction.atomic():
        first = not has_second_factor(user)
        if not Authenticator.objects.filter(pk=pending.pk, confirmed_at__isnull=True).update(
                confirmed_at=now, last_used_at=now, last_used_step=step):
            raise ServiceError("totp_not_started")  # confirmed (or replaced) by a concurrent request
        codes = _replace_recovery_codes(user) if first else []
        record_security_event(events.FACTOR_ADDED, user=user, client=client, session_id=session_id, factor="totp")
        emails.announce("mfa_factor_added", user=user, kind="totp")
    return codes


def remove_totp(*, user, session_id, client: ClientInfo) -> None:
    """Remove the authenticator app. As it is the account's only factor, MFA goes off with it: the recovery
    codes are deleted too."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    _require_proof_for_change(user, session_id)
    with transaction.atomic():
        removed, _ = Authenticator.objects.filter(user=user, kind=Authenticator.Kind.TOTP).delete()
        if not removed:
            raise ServiceError("mfa_not_enabled")
        _turn_off_if_last(user)
        record_security_event(events.FACTOR_REMOVED, user=user, client=client, session_id=session_id, factor="totp")
        emails.announce("mfa_factor_removed", user=user, kind="totp")


def turn_off(*, user, session_id, client: ClientInfo) -> None:
    """Remove every second factor and the recovery codes."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    _require_proof_for_change(user, session_id)
    with transaction.atomic():
        if not _remove_all(user):
            raise ServiceError("mfa_not_enabled")
        record_security_event(events.FACTOR_REMOVED, user=user, client=client, session_id=session_id, factor="all")
        emails.announce("mfa_factor_removed", user=user, kind="all")


def _turn_off_if_last(user) -> None:
    if not Authenticator.objects.active().filter(user=user).exists():
        RecoveryCode.objects.filter(user=user).delete()


def _remove_all(user) -> int:
    removed, _ = Authenticator.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    return removed


# --- recovery codes ---------------------------------------------------------------------------------------------
def regenerate_recovery_codes(*, user, session_id, client: ClientInfo) -> list[str]:
    """New recovery codes (shown once); every earlier one stops working."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    if not has_second_factor(user):
        raise ServiceError("mfa_not_enabled")
    require_recent_factor(user=user, session_id=session_id)
    with transaction.atomic():
        codes = _replace_recovery_codes(user)
        record_security_event(events.RECOVERY_CODES_REGENERATED, user=user, client=client, session_id=session_id)
    return codes


def _replace_recovery_codes(user) -> list[str]:
    codes = [recovery_codes.new_code() for _ in range(app_settings.RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create([RecoveryCode(user=user, code_hash=recovery_codes.code_hash(code))
                                      for code in codes])
    return codes


# --- an operator's reset ----------------------------------------------------------------------------------------
def reset_by_operator(*, user, operator, client: ClientInfo | None = None) -> bool:
    """An operator removes every second factor of `user` (who lost them all), audited with the operator; the
    user is told by email. Returns whether there was anything to remove."""
    with transaction.atomic():
        if not _remove_all(user):
            return False
        record_security_event(events.MFA_RESET, user=user, actor=operator, client=client)
        emails.announce("mfa_reset", user=user)
    return True


# --- answering with a factor (accounts.second_factor) -------------------------------------------------------------
class MfaSecondFactor:
    """The second factors of this app, as the accounts' login and reauthentication flows ask for them."""

    manage_url = "mfa:manage"

    def missing_for(self, user) -> bool:
        return bool(app_settings.REQUIRE_FOR_STAFF and user.is_staff and not has_second_factor(user))

    def methods(self, user) -> list[str]:
        return status(user).methods

    def verify(self, user, answer: FactorAnswer, *, client: ClientInfo) -> Verified:
        if answer.code:
            return _verify_code(user, answer.code)
        if answer.recovery_code:
            return _use_recovery_code(user, answer.recovery_code, client=client)
        raise ServiceError("mfa_code_incorrect")


def _verify_code(user, code: str) -> Verified:
    typed = totp.normalise(code)
    authenticator = (Authenticator.objects.active().filter(user=user, kind=Authenticator.Kind.TOTP).first()
                     if typed else None)
    if authenticator is None:
        raise ServiceError("mfa_code_incorrect")
    step = totp.matching_step(vault.decrypt(authenticator.secret, bound_to=bound_to(authenticator)), typed,
                              after=authenticator.last_used_step, tolerance=app_settings.TOTP_TOLERANCE_STEPS)
    # Conditional on the step stored: of two requests with one code, one moves it forward, the other is refused.
    unchanged = Authenticator.objects.filter(pk=authenticator.pk, last_used_step=authenticator.last_used_step)
    if step is None or not unchanged.update(last_used_step=step, last_used_at=timezone.now()):
        raise ServiceError("mfa_code_incorrect")
    return Verified(methods=(OTP_METHOD,))


def _use_recovery_code(user, code: str, *, client: ClientInfo) -> Verified:
    digest = recovery_codes.code_hash(code)
    with transaction.atomic():
        # Single use: the update that marks it used is the check.
        if not digest or not RecoveryCode.objects.filter(user=user, code_hash=digest, used_at__isnull=True) \
                .update(used_at=timezone.now()):
            raise ServiceError("mfa_code_incorrect")
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        record_security_event(events.RECOVERY_CODE_USED, user=user, client=client, left=left)
        emails.announce("mfa_recovery_code_used", user=user, left=left,
                        running_low=left <= app_settings.RECOVERY_CODES_LOW)
    return Verified(methods=(OTP_METHOD,))
