"""Managing second factors, the one service layer the API, the pages and the admin call: add an authenticator
app, confirm it, remove it, make new recovery codes, turn MFA off, an operator's reset; and `MfaSecondFactor`,
the answer checks the login and reauthentication flows of accounts call (accounts.second_factor).

Who may change them: every change asks for a reauthentication in the caller's session within SESSIONS_APP
RECENT_AUTHENTICATION_WINDOW, a proof asked for after the sign-in (sessions_app.services.require_reauthentication):
the sign-in itself does not count, so a stolen access token or session alone changes nothing, even in the minutes
after the owner signed in (a passkey added then would be a way in that outlives a password reset). Once the
account has a second factor, that proof must be a second factor: otherwise a thief who knows the password could
add their own authenticator, or make recovery codes, and then remove the owner's.
"""
from dataclasses import dataclass
import uuid

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts import emails, login_throttle
from accounts import limits as accounts_limits
from accounts.conf import app_settings as accounts_settings
from accounts.flows import login, passwords
from accounts.second_factor import FactorAnswer, Verified
from authcore.audit import record_security_event
from authcore.errors import ServiceError
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo
from sessions_app.models import SECOND_FACTOR_METHOD, Session
from sessions_app.services import require_reauthentication

from . import events, limits, recovery_codes, totp, webauthn
from .conf import app_settings
from .crypto import bound_to, vault
from .models import Authenticator, RecoveryCode

OTP_METHOD = "otp"  # RFC 8176: a one-time password, an app's code or a recovery code alike
# RFC 8176 "hwk": proof of possession of a hardware-secured key (security keys and passkeys alike: which kind of
# store a passkey lives in is not something the service can tell from an attestation "none").
KEY_METHOD = "hwk"
KEY_NAME_MAX_LENGTH = 64


@dataclass(frozen=True)
class MfaStatus:
    enabled: bool  # the account has a second factor: a login asks for it
    totp: Authenticator | None  # the confirmed authenticator app
    keys: list[Authenticator]  # security keys and passkeys
    recovery_codes_left: int

    @property
    def passkeys(self) -> list[Authenticator]:
        """The keys that sign in alone."""
        return [key for key in self.keys if key.passkey]

    @property
    def methods(self) -> list[str]:
        if not self.enabled:
            return []
        return ((["totp"] if self.totp else []) + (["webauthn"] if self.keys else [])
                + (["recovery_code"] if self.recovery_codes_left else []))


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str
    qr_code_svg: str


def status(user) -> MfaStatus:
    # Ordered by created_at alone: the model's ordering starts with the user, which joins the user table to sort
    # by its own ordering, a join (and a plan) every login without a factor paid for nothing.
    factors = list(Authenticator.objects.active().filter(user=user).defer("secret", "public_key")
                   .order_by("created_at", "id"))
    app = next((factor for factor in factors if factor.kind == Authenticator.Kind.TOTP), None)
    keys = [factor for factor in factors if factor.kind == Authenticator.Kind.WEBAUTHN]
    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() if factors else 0
    return MfaStatus(enabled=bool(factors), totp=app, keys=keys, recovery_codes_left=left)


def has_second_factor(user) -> bool:
    return Authenticator.objects.active().filter(user=user).exists()


def _require_proof_for_change(user, session_id) -> None:
    """See the module docstring: a recent reauthentication, by a factor for an account with one."""
    require_reauthentication(user=user, session_id=session_id, with_factor=has_second_factor(user))


# --- an authenticator app ----------------------------------------------------------------------------------------
def start_totp(*, user, session_id, client: ClientInfo) -> TotpEnrolment:
    """A new secret for an authenticator app, not yet a factor: `confirm_totp` with a code from the app makes it
    one. Starting again replaces a secret not yet confirmed; an account has at most one app (409
    `totp_already_enabled`: remove it first)."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    _require_proof_for_change(user, session_id)
    secret = totp.new_secret()
    try:
        with transaction.atomic():
            Authenticator.objects.filter(user=user, kind=Authenticator.Kind.TOTP, confirmed_at__isnull=True).delete()
            if Authenticator.objects.filter(user=user, kind=Authenticator.Kind.TOTP).exists():
                raise ServiceError("totp_already_enabled")
            authenticator = Authenticator(user=user, kind=Authenticator.Kind.TOTP)
            authenticator.secret = vault.encrypt(secret, bound_to=bound_to(authenticator))
            authenticator.save()
    except IntegrityError:  # a concurrent start won the one row an account may have (mfa_one_totp_per_user)
        raise ServiceError("totp_already_enabled") from None
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
    """Remove the authenticator app. If it was the account's last factor, MFA goes off with it: the recovery codes
    are deleted too."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    _require_proof_for_change(user, session_id)
    with transaction.atomic():
        # One set up and confirmed: removing an app still being set up is no change of the factors to tell of.
        if not Authenticator.objects.active().filter(user=user, kind=Authenticator.Kind.TOTP).exists():
            raise ServiceError("mfa_not_enabled")
        Authenticator.objects.filter(user=user, kind=Authenticator.Kind.TOTP).delete()
        all_gone = _turn_off_if_last(user)
        record_security_event(events.FACTOR_REMOVED, user=user, client=client, session_id=session_id, factor="totp")
        emails.announce("mfa_factor_removed", user=user, kind="totp", all_gone=all_gone)


def turn_off(*, user, session_id, client: ClientInfo) -> None:
    """Remove every second factor and the recovery codes."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    _require_proof_for_change(user, session_id)
    with transaction.atomic():
        if not has_second_factor(user):
            raise ServiceError("mfa_not_enabled")
        if not _lock(user).has_usable_password():
            raise ServiceError("last_passkey")  # nothing would be left to sign in with
        _remove_all(user)
        record_security_event(events.FACTOR_REMOVED, user=user, client=client, session_id=session_id, factor="all")
        emails.announce("mfa_factor_removed", user=user, kind="all", all_gone=True)


def _turn_off_if_last(user) -> bool:
    """After a factor went: with none left, MFA is off and the recovery codes go too. Returns whether it is off."""
    if Authenticator.objects.active().filter(user=user).exists():
        return False
    RecoveryCode.objects.filter(user=user).delete()
    return True


def _remove_all(user) -> int:
    removed, _ = Authenticator.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    return removed


# --- security keys and passkeys -----------------------------------------------------------------------------
def security_key_options(*, user, session_id, client: ClientInfo, passkey: bool) -> dict:
    """Options for the browser to make a new key (a passkey, or a security key used as a second factor only)."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    _require_proof_for_change(user, session_id)
    existing = list(Authenticator.objects.filter(user=user, kind=Authenticator.Kind.WEBAUTHN)
                    .values_list("credential_id", flat=True))
    return webauthn.registration_options(user, existing_credential_ids=existing, passkey=passkey)


def add_security_key(*, user, session_id, client: ClientInfo, credential, name: str, passkey: bool) -> list[str]:
    """Keep the key the browser made for options from `security_key_options`. Returns new recovery codes when it
    is the account's first factor (shown once), else []."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    _require_proof_for_change(user, session_id)
    new_key = _verified_new_key(user, credential, passkey=passkey)
    try:
        with transaction.atomic():
            codes = _keep_new_key(user, new_key, name=name, passkey=passkey)
            record_security_event(events.FACTOR_ADDED, user=user, client=client, session_id=session_id,
                                  factor="passkey" if passkey else "security_key")
            emails.announce("mfa_factor_added", user=user, kind="webauthn")
    except IntegrityError:  # the same key registered by a concurrent request (credential ids are unique)
        raise ServiceError("webauthn_invalid") from None
    return codes


def _verified_new_key(user, credential, *, passkey: bool):
    """The browser's answer to options made for `user` to register a key: checked, its challenge spent."""
    credential = webauthn.parse_credential(credential)
    verified = webauthn.verify_new_key(credential, webauthn.take_challenge(credential, purpose=webauthn.REGISTER,
                                                                           user_id=user.pk), passkey=passkey)
    if len(verified.credential_id) > webauthn.CREDENTIAL_ID_MAX_BYTES:
        raise ServiceError("webauthn_invalid")  # WebAuthn §7.1: a relying party refuses ids over 1023 bytes
    return verified


def _keep_new_key(user, verified, *, name: str, passkey: bool) -> list[str]:
    """Store a verified new key (in the caller's transaction). Returns new recovery codes when it is the account's
    first factor (shown once), else []."""
    credential_id = webauthn.encode_id(verified.credential_id)
    if Authenticator.objects.filter(credential_id=credential_id).exists():
        raise ServiceError("webauthn_invalid")  # this key is already registered (here or elsewhere)
    first = not has_second_factor(user)
    Authenticator.objects.create(
        user=user, kind=Authenticator.Kind.WEBAUTHN, name=name.strip()[:KEY_NAME_MAX_LENGTH],
        confirmed_at=timezone.now(), credential_id=credential_id, public_key=verified.credential_public_key,
        sign_count=verified.sign_count, passkey=passkey)
    return _replace_recovery_codes(user) if first else []


def rename_security_key(*, user, key_id, name: str | None, client: ClientInfo) -> Authenticator:
    """Give a key another name (None: leave it). No proof asked: a name changes no way in. Audited all the same,
    since the list of keys is what an owner reads to spot one that is not theirs."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    key = _key_of(user, key_id)
    if name is not None and name.strip()[:KEY_NAME_MAX_LENGTH] != key.name:
        previous, key.name = key.name, name.strip()[:KEY_NAME_MAX_LENGTH]
        key.save(update_fields=["name"])
        record_security_event(events.FACTOR_RENAMED, user=user, client=client, authenticator=str(key.pk),
                              previous_name=previous, name=key.name)
    return key


def remove_security_key(*, user, session_id, key_id, client: ClientInfo) -> None:
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    _require_proof_for_change(user, session_id)
    with transaction.atomic():
        key = _key_of(user, key_id)
        if key.passkey and not _lock(user).has_usable_password() and not _passkeys(user).exclude(pk=key.pk).exists():
            raise ServiceError("last_passkey")  # the account's one way to sign in
        key.delete()
        all_gone = _turn_off_if_last(user)
        record_security_event(events.FACTOR_REMOVED, user=user, client=client, session_id=session_id,
                              factor="webauthn")
        emails.announce("mfa_factor_removed", user=user, kind="webauthn", all_gone=all_gone)


def _passkeys(user):
    return Authenticator.objects.active().filter(user=user, kind=Authenticator.Kind.WEBAUTHN, passkey=True)


def _key_of(user, key_id) -> Authenticator:
    key = (Authenticator.objects.filter(user=user, kind=Authenticator.Kind.WEBAUTHN, pk=key_id).first()
           if _is_uuid(key_id) else None)
    if key is None:
        raise ServiceError("not_found")
    return key


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def passkey_options(*, client: ClientInfo) -> dict:
    enforce_rate_limit(scope=limits.PASSKEY_LOGIN, client=client)
    return webauthn.passkey_options()


def log_in_with_passkey(*, credential, client: ClientInfo, device_token: str | None = None,
                        transport: str = Session.Transport.BODY, device_name: str = "") -> login.LoginResult:
    """Sign in with a passkey alone: the key names its account (the credential id) and verified its user (user
    verification is required), so no password is asked. The answer is a login's, with the device cookie and the
    new-device alert. The session's `amr` is ["hwk", "mfa"]: a key held, and its user verified by it."""
    enforce_rate_limit(scope=limits.PASSKEY_LOGIN, client=client)
    credential = webauthn.parse_credential(credential)
    challenge = webauthn.take_challenge(credential, purpose=webauthn.PASSKEY)
    # Only a key added as a passkey: one added as a second factor only stays one, even if its authenticator kept
    # it on the device and verifies its user.
    key = (Authenticator.objects.select_related("user")
           .filter(kind=Authenticator.Kind.WEBAUTHN, passkey=True, credential_id=webauthn.credential_id_of(credential))
           .first())
    if key is None:
        record_security_event(events.PASSKEY_LOGIN_FAIL, client=client, reason="unknown_key")
        raise ServiceError("passkey_unknown")
    _check_key(key, credential, challenge, client=client, user_verification=True)
    return login.log_in_proven(user=key.user, client=client, device_token=device_token, transport=transport,
                               device_name=device_name, auth_methods=(KEY_METHOD, SECOND_FACTOR_METHOD))


def _check_key(key: Authenticator, credential: dict, challenge: bytes, *, client: ClientInfo,
               user_verification: bool) -> None:
    """The key's answer holds: its signature over the challenge, then its counter (a copy of the key is refused
    and audited), moved forward by a conditional update."""
    verified = webauthn.verify_assertion(credential, challenge, public_key=bytes(key.public_key),
                                         user_verification=user_verification)
    if webauthn.looks_cloned(stored=key.sign_count, reported=verified.new_sign_count):
        record_security_event(events.WEBAUTHN_CLONE, user=key.user, client=client, authenticator=str(key.pk),
                              stored_count=key.sign_count, reported_count=verified.new_sign_count)
        raise ServiceError("webauthn_cloned")
    if not Authenticator.objects.filter(pk=key.pk, sign_count=key.sign_count).update(
            sign_count=verified.new_sign_count, last_used_at=timezone.now()):
        raise ServiceError("webauthn_invalid")  # another answer of this key won the race


# --- accounts that sign in with passkeys only ---------------------------------------------------------------------
def remove_password(*, user, session_id, client: ClientInfo,
                    device_token: str | None = None) -> passwords.PasswordChanged:
    """Stop using a password: from now on the account signs in with its passkeys only. It takes a passkey (one to
    sign in with) and a recent reauthentication by a factor in this session (a thief with the password and a session
    cannot lock the owner out of the password). Like a password change, every other session ends (they may have
    signed in with the password being given up) and the caller continues in a new one. The account sets a password
    again with accounts.flows.passwords.change_password, or a reset by email."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    if not user.has_usable_password():
        raise ServiceError("password_not_set")
    if not _passkeys(user).exists():
        raise ServiceError("passkey_required")
    require_reauthentication(user=user, session_id=session_id, with_factor=True)

    def store(change) -> None:
        # Under the user's row lock, which removing a passkey takes too: of the two, one sees what the other did.
        if not _lock(user).has_usable_password():
            raise ServiceError("password_not_set")
        if not _passkeys(user).exists():
            raise ServiceError("passkey_required")
        _store_no_password(user, change)

    return passwords.replace_password_in_session(user=user, session_id=session_id, client=client,
                                                 device_token=device_token, how="removed", store=store)


def _lock(user):
    """The user's row, locked for the transaction, as it is now."""
    return type(user).objects.select_for_update().only("id", "password").get(pk=user.pk)


def _store_no_password(user, change) -> None:
    # A new unusable value each time: the stored hash changes, so every reset link sent before dies with it.
    user.set_unusable_password()
    user.pending_password_change = change
    user.save(update_fields=["password"])


@dataclass(frozen=True)
class PasskeyRecovery:
    reset: passwords.PasswordReset
    recovery_codes: list[str]  # when the new passkey is the account's first factor (shown once), else []


def reset_passkey_options(*, token: str, client: ClientInfo) -> dict:
    """For a reset link of an account without a password: options for the browser to make a new passkey."""
    user = _recoverable_by_passkey(token, client=client)
    return webauthn.registration_options(user, existing_credential_ids=[], passkey=True)


def _prove_factor_for_recovery(user, answer: FactorAnswer, *, client: ClientInfo) -> None:
    """A code of the account's factors beside the reset link: bounded like the login's second step (its limit, which
    fails closed, and each wrong code a failed login of the account, toward its lock)."""
    enforce_rate_limit(scope=accounts_limits.LOGIN_SECOND_STEP, client=client)
    attempt = login_throttle.LoginAttempt.start(email=user.email, client=client)
    login_throttle.check(attempt)
    try:
        MfaSecondFactor().verify(user, answer, client=client)
    except ServiceError as error:
        if error.code == "mfa_code_incorrect":
            login_throttle.record_failure(attempt)
            record_security_event(events.RECOVERY_FAIL, user=user, client=client)
        raise


def _recoverable_by_passkey(token: str, *, client: ClientInfo):
    user = passwords.password_reset_user(token, client=client)
    if user is None:
        raise ServiceError("invalid_token")
    if user.has_usable_password():
        raise ServiceError("passkey_reset_unavailable")  # it resets its password: a new one replaces it
    return user


def reset_with_passkey(*, token: str, credential, name: str, answer: FactorAnswer,
                       client: ClientInfo) -> PasskeyRecovery:
    """The emailed reset link of an account without a password adds a new passkey (the owner lost theirs) instead of
    setting a password. The same as a reset otherwise: the link works once, every session ends, nobody is signed in
    (the owner signs in with the new passkey), and the owner is emailed.

    The mailbox alone never takes a second factor's place: an account with factors left must also answer one, a code
    of its authenticator app or a recovery code (`answer`), else 400 `mfa_code_required` with the `methods` it can
    answer with. A security key is not asked for: whoever still holds one signs in with it. Without any factor (an
    operator reset them all) the link is enough, and the new passkey's recovery codes come back."""
    user = _recoverable_by_passkey(token, client=client)
    methods = status(user).methods
    if methods and (answer.is_empty() or answer.webauthn):
        raise ServiceError("mfa_code_required", data={"methods": [m for m in methods if m != "webauthn"]})
    # The new key first: a broken answer spends no code.
    new_key = _verified_new_key(user, credential, passkey=True)
    if methods:
        _prove_factor_for_recovery(user, answer, client=client)
    codes: list[str] = []

    def store(locked_user, change) -> None:
        nonlocal codes
        if locked_user.pk != user.pk or locked_user.has_usable_password():
            raise ServiceError("invalid_token")  # a password was set since the link was looked at
        codes = _keep_new_key(locked_user, new_key, name=name, passkey=True)
        record_security_event(events.FACTOR_ADDED, user=locked_user, client=client, factor="passkey",
                              via="password_reset")
        # The owner hears of it once, in the email of the reset ("recovered").
        _store_no_password(locked_user, change)

    try:
        reset = passwords.redeem_password_reset(token=token, client=client, how="recovered", store=store)
    except IntegrityError:  # the same key registered by a concurrent request (credential ids are unique)
        raise ServiceError("webauthn_invalid") from None
    return PasskeyRecovery(reset=reset, recovery_codes=codes)


# --- recovery codes ---------------------------------------------------------------------------------------------
def regenerate_recovery_codes(*, user, session_id, client: ClientInfo) -> list[str]:
    """New recovery codes (shown once); every earlier one stops working."""
    enforce_rate_limit(scope=limits.MANAGE_FACTORS, client=client, account=str(user.pk))
    if not has_second_factor(user):
        raise ServiceError("mfa_not_enabled")
    require_reauthentication(user=user, session_id=session_id, with_factor=True)
    with transaction.atomic():
        codes = _replace_recovery_codes(user)
        record_security_event(events.RECOVERY_CODES_REGENERATED, user=user, client=client, session_id=session_id)
        emails.announce("mfa_recovery_codes_regenerated", user=user)
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
    passkey_reset_url = "mfa:reset-passkey"

    def missing_for(self, user) -> bool:
        return bool(app_settings.REQUIRE_FOR_STAFF and user.is_staff and not has_second_factor(user))

    def methods(self, user) -> list[str]:
        return status(user).methods

    def has_factor_condition(self):
        """has_second_factor, for the user of the outer query's row (accounts.second_factor.with_factor_flag)."""
        return Exists(Authenticator.objects.active().filter(user=OuterRef("pk")))

    def verify(self, user, answer: FactorAnswer, *, client: ClientInfo) -> Verified:
        if answer.code:
            return _verify_code(user, answer.code)
        if answer.recovery_code:
            return _use_recovery_code(user, answer.recovery_code, client=client)
        if answer.webauthn:
            return _verify_key(user, answer.webauthn, client=client)
        raise ServiceError("mfa_code_incorrect")

    def challenge(self, user) -> dict:
        keys = list(Authenticator.objects.active().filter(user=user, kind=Authenticator.Kind.WEBAUTHN)
                    .values_list("credential_id", flat=True))
        if not keys:
            raise ServiceError("mfa_method_unavailable")
        return webauthn.authentication_options(user, keys)


def _verify_key(user, credential, *, client: ClientInfo) -> Verified:
    """A security key's answer as a second factor: for a challenge issued to this user, by one of their keys. Any
    failure is a wrong answer (counted as one by the caller); a cloned key is said as such."""
    try:
        credential = webauthn.parse_credential(credential)
        challenge = webauthn.take_challenge(credential, purpose=webauthn.AUTHENTICATE, user_id=user.pk)
        key = Authenticator.objects.select_related("user").filter(
            user=user, kind=Authenticator.Kind.WEBAUTHN, credential_id=webauthn.credential_id_of(credential)).first()
        if key is None:
            raise ServiceError("webauthn_invalid")
        _check_key(key, credential, challenge, client=client, user_verification=False)
    except ServiceError as error:
        if error.code == "webauthn_invalid":
            raise ServiceError("mfa_code_incorrect", error.message) from None
        raise
    return Verified(methods=(KEY_METHOD,))


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
