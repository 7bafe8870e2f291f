"""Account services. The REST API, the browser pages, the admin and management commands call these
functions; each rule about accounts is written here once.

Rules are enforced here, inside the flows, so no entry point can forget them: each flow applies its own
rate limits (accounts.limits), and the edges only translate its errors into a response.

Transactions: a flow that only ever runs on its own opens a durable transaction (its writes and audit
records commit together, or not at all, and never inside somebody else's transaction, which could roll
back a revocation along with an error response); what other flows and the admin's own transactions
also call joins the caller's transaction without a savepoint.

Dependency direction: accounts -> sessions_app -> authcore, and accounts -> authcore.
"""
from dataclasses import dataclass
from typing import NamedTuple

from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from authcore.audit import record_security_event
from authcore.errors import ServiceError, validation_error
from authcore.ratelimit import enforce_rate_limit, with_limit_cache
from authcore.requestmeta import ClientInfo, acting_operator
from sessions_app.models import Session
from sessions_app.services import IssuedTokens, end_user_sessions, start_session

from . import emails, events, limits, login_throttle, notifications, signals
from .addresses import email_identity, mask_email
from .conf import app_settings
from .models import User, normalize_email
from .names import clean_display_name
from .reauthentication import Proof, reauthenticate
from .tokens import (
    email_verification_tokens,
    link_token_account_key,
    password_reset_tokens,
    user_for_link_token,
)


def announce(signal, *, user: User, **details) -> None:
    """A change the user hears about: queue its email in the current transaction (it commits or rolls back
    with the change), and send the signal to other receivers once the transaction commits.

    send_robust: a failing receiver is logged by Django and never turns committed work into an error."""
    emails.queue_email_for(signal, user=user, **details)
    transaction.on_commit(lambda: signal.send_robust(sender=User, user=user, **details))


def check_password_policy(password: str, *, user: User | None = None, field: str = "password") -> None:
    """The password rules (settings.AUTH_PASSWORD_VALIDATORS), as a 400 with one entry per broken rule."""
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise validation_error(field, error) from None


@dataclass(frozen=True)
class LoginResult:
    user: User
    tokens: IssuedTokens
    # For the device cookie: marks this device as one that has logged in to this account before, so
    # failures from elsewhere do not lock it out (accounts/login_throttle.py).
    device_token: str


class ProvenCredentials(NamedTuple):
    """What a password check that succeeded tells its caller."""

    user: User
    device_token: str  # for the device cookie (LoginResult.device_token)
    device_id: str  # the id that cookie carries, recorded on the session a login opens (Session.device_id)
    # The login presented a device cookie that still vouches for this device: not a new device.
    known_device: bool


def check_credentials(*, email: str, password: str, client: ClientInfo, device_token: str | None = None,
                      request=None) -> ProvenCredentials:
    """The password check of every login (the API's and the admin's), or raises `invalid_credentials`, or
    `rate_limited` for a locked client or account.

    Unknown email, wrong password and inactive account all end in the same `invalid_credentials` error,
    and Django's ModelBackend hashes the password once even for an unknown email, so neither the answer
    nor its timing tells whether the account exists. Attempts are counted per client IP, failures per
    account and client, and a locked account or client is refused before any hashing
    (accounts/login_throttle.py)."""
    enforce_rate_limit(scope=limits.LOGIN, client=client)
    attempt = login_throttle.LoginAttempt.start(email=email, client=client, device_token=device_token)
    had_failures = login_throttle.check(attempt)
    user = authenticate(request, email=email, password=password)
    if user is None:
        login_throttle.record_failure(attempt)
        # Which account was attacked, for operators: its user if it exists, and always the keyed hash of the
        # address (the throttle's account key), so that attempts on an unknown address group too. Looked up
        # on every failure, known address or not, so the work (and time) is the same; the client learns
        # nothing from it.
        target = User.objects.with_email(email).only("pk").first()
        record_security_event(events.LOGIN_FAIL, user=target, client=client, account=attempt.account)
        raise ServiceError("invalid_credentials")
    login_throttle.record_success(attempt, had_failures=had_failures)
    return ProvenCredentials(user=user, device_token=attempt.device_token(user), device_id=attempt.device_id,
                             known_device=attempt.device_vouches_for(user))


def log_in(*, email: str, password: str, client: ClientInfo, device_token: str | None = None,
           request=None, transport: str = Session.Transport.BODY, device_name: str = "") -> LoginResult:
    """Check the credentials and open a new session (its refresh token travelling as `transport` says,
    named `device_name` by the client)."""
    proven = check_credentials(email=email, password=password, client=client, device_token=device_token,
                               request=request)
    user = proven.user
    # Only now, with the password proven, may we say that the address is unverified.
    if app_settings.REQUIRE_VERIFIED_EMAIL and not user.email_verified:
        record_security_event(events.LOGIN_UNVERIFIED, user=user, client=client)
        _resend_verification_after_login(user)
        raise ServiceError("email_not_verified")
    with transaction.atomic(durable=True):
        previous_login, user.last_login = user.last_login, timezone.now()
        # Conditional: an account deleted or deactivated since the password check gets no session.
        if not User.objects.filter(pk=user.pk, is_active=True).update(last_login=user.last_login):
            raise ServiceError("invalid_credentials")
        # The session records the device its cookie names, so that a report of this sign-in can end every
        # session that device opened and distrust its cookie (accounts.notifications).
        tokens = start_session(user=user, client=client, transport=transport, device_name=device_name,
                               device_id=proven.device_id)
        record_security_event(events.LOGIN_SUCCESS, user=user, client=client, session_id=tokens.session.id)
        # A device the user has not used before: they are told, by an email queued in this transaction.
        notifications.alert_if_new_device(user=user, session=tokens.session, known_device=proven.known_device,
                                          previous_login=previous_login)
    return LoginResult(user=user, tokens=tokens, device_token=proven.device_token)


def _clean_name(name: str) -> str:
    """The display-name rule (accounts/names.py) inside the flows, whatever called them: 400 with the field
    code for a name the pages and the API would refuse."""
    try:
        return clean_display_name(name)
    except ValidationError as error:
        raise validation_error("name", error) from None


def update_profile(*, user: User, name: str | None = None, client: ClientInfo | None = None) -> User:
    """Update the fields given (PATCH semantics); fields left out keep their value. The save audits what
    changed (user_fields_changed)."""
    if name is not None:
        user.name = _clean_name(name)
        user.pending_changed_by = ChangedBy(client=client)
        user.save(update_fields=["name"])
    return user


@dataclass(frozen=True)
class PasswordChange:
    """How a password came to be replaced, for what follows it (User.save calls password_replaced)."""

    how: str = "set"  # "changed" by its owner, "reset" with an emailed link, "set" by anyone else
    actor: User | None = None  # an operator acting on the user's account
    client: ClientInfo | None = None
    session_id: str | None = None  # the session that made the change ("changed")


def password_replaced(*, user: User, change: PasswordChange | None = None) -> int:
    """What every password change means, whoever stored it (User.save calls this in its transaction): every
    session of the user ends, the change is audited, and the user is told. A save outside our flows (the
    admin's password forms, Django's `changepassword`, a shell) is a "set", by the operator acting in the
    admin if there is one. Returns how many sessions were ended."""
    if change is None:
        operator = acting_operator()
        change = PasswordChange(actor=operator.actor, client=operator.client) if operator else PasswordChange()
    reset = change.how == "reset"
    reason = events.PASSWORD_RESET_REASON if reset else events.PASSWORD_CHANGED_REASON
    ended = end_user_sessions(user=user, reason=reason, actor=change.actor, client=change.client)
    record_security_event(events.PASSWORD_RESET if reset else events.PASSWORD_CHANGED, user=user, actor=change.actor,
                          client=change.client, session_id=change.session_id, sessions_ended=ended, how=change.how)
    announce(signals.password_changed, user=user, reason=change.how)
    return ended


def set_new_password(*, user: User, new_password: str, change: PasswordChange, field: str = "new_password") -> None:
    """Validate and store a new password; saving it ends every session of the user (password_replaced)."""
    check_password_policy(new_password, user=user, field=field)
    user.set_password(new_password)
    user.pending_password_change = change
    user.save(update_fields=["password"])


def change_password(
    *, user: User, session_id, current_password: str, new_password: str, client: ClientInfo
) -> IssuedTokens:
    """Change the password of a logged-in user. Every session of the user ends, the caller's too (no token
    issued under the old password outlives it, not even the access token of this request), and the caller
    continues in a new session, whose pair is returned."""
    enforce_rate_limit(scope=limits.CHANGE_PASSWORD, client=client, account=str(user.pk))
    reauthenticate(user=user, session_id=session_id, proof=Proof(password=current_password), client=client,
                   failure_event=events.PASSWORD_CHANGE_FAIL)
    with transaction.atomic(durable=True):
        # The caller's session may have ended since authentication (another device ended it): then the
        # request is no longer authenticated, so refuse before changing anything. The row lock queues a
        # concurrent change from the same session, which then finds it ended.
        current = Session.objects.alive().select_for_update().filter(pk=session_id, user=user).first()
        if current is None:
            raise ServiceError("token_not_valid")
        set_new_password(user=user, new_password=new_password,
                         change=PasswordChange(how="changed", client=client, session_id=str(session_id)))
        # The current password was just proven: a fresh authentication, like a login, so the new session
        # gets a fresh absolute lifetime (and a new server-chosen id). It keeps the transport and the name
        # the client chose for the one it replaces.
        return start_session(user=user, client=client, transport=current.transport,
                             device_name=current.device_name, device_id=current.device_id)


def deactivate_user(*, user: User, actor: User | None = None, client: ClientInfo | None = None) -> int:
    """Deactivate an account and end all its sessions at once; returns how many sessions were ended."""
    if actor is not None and actor.pk == user.pk:
        # An operator locking themselves out by mistake gains nothing; another operator can do it.
        raise ServiceError("permission_denied", "You cannot deactivate your own account.")
    with transaction.atomic(savepoint=False):
        # Sessions first, so the count and the audit record (with the operator as actor) are ours; the
        # save's own hook (User.save) then finds none left to end.
        ended = end_user_sessions(user=user, reason=Session.RevokeReason.USER_DEACTIVATED, actor=actor, client=client)
        user.is_active = False
        user.save(update_fields=["is_active"])
        record_security_event(events.USER_DEACTIVATED, user=user, actor=actor, client=client, sessions_ended=ended)
    return ended


@dataclass(frozen=True)
class ChangedBy:
    """Who changed a user and from where, for the audit record of what User.save does (User.pending_changed_by):
    an operator (`actor`) or the user themselves (no actor)."""

    actor: User | None = None
    client: ClientInfo | None = None


def _changed_by(changed_by: ChangedBy | None) -> ChangedBy:
    """What a flow said, else the operator acting in the admin, else nobody known (a shell, a script)."""
    if changed_by is not None:
        return changed_by
    operator = acting_operator()
    return ChangedBy(actor=operator.actor, client=operator.client) if operator else ChangedBy()


def email_address_changed(*, user: User, previous_email: str) -> bool:
    """`user.email` has just been given a new value (User.save calls this before it saves it). An address
    nobody has proven is not verified: the user verifies it before the next login. Retyping the same address
    in another spelling (case, fullwidth letters) changes nothing. Returns whether it is another address."""
    if email_identity(previous_email) == email_identity(user.email):
        return False
    user.email_verified_at = None
    return True


def email_address_replaced(*, user: User, previous_email: str, previous_verified: bool,
                           changed_by: ChangedBy | None = None) -> None:
    """What every change of address means, whoever stored it (User.save calls this in its transaction, after
    the save): it is audited, with the operator if one did it, and the old address is told, with the new one
    masked (an intruder who moved the account must not keep its owner from hearing of it) if it was verified:
    an address nobody proved (a typo an operator corrects, one registered by someone else) may be a
    stranger's. The sessions stay: the address is how the user is reached and logs in, not a credential."""
    changed_by = _changed_by(changed_by)
    record_security_event(events.EMAIL_CHANGED, user=user, actor=changed_by.actor, client=changed_by.client,
                          previous_address_told=bool(previous_email and previous_verified))
    if previous_email and previous_verified:
        emails.queue_email(user=user, template="email_changed", to=previous_email,
                           masked_new_email=mask_email(user.email))
    transaction.on_commit(lambda: signals.email_changed.send_robust(sender=User, user=user,
                                                                    previous_email=previous_email))


def user_fields_changed(*, user: User, changes: dict, changed_by: ChangedBy | None = None) -> None:
    """Privileges granted or removed, and profile edits, whoever stored them (User.save, UserQuerySet.update,
    and for groups and permissions models._audit_permission_grants): one audit record each. `changes` maps a
    field of User.AUDITED_FIELDS to (before, after), or "groups" / "user_permissions" to {"added" or
    "removed": [names]}; a name's values are not recorded, only that it changed (the event log is no copy of
    the profile)."""
    changed_by = _changed_by(changed_by)
    privileges = {name: ({"from": change[0], "to": change[1]} if name in ("is_staff", "is_superuser") else change)
                  for name, change in changes.items()
                  if name in ("is_staff", "is_superuser", "groups", "user_permissions")}
    if privileges:
        record_security_event(events.PRIVILEGES_CHANGED, user=user, actor=changed_by.actor, client=changed_by.client,
                              **privileges)
    profile = sorted(name for name in changes if name not in privileges)
    if profile:
        record_security_event(events.PROFILE_UPDATED, user=user, actor=changed_by.actor, client=changed_by.client,
                              fields=profile)


# --- registration and email verification -----------------------------------------------------------------
@dataclass(frozen=True)
class Registration:
    """What `register` did. With ENUMERATION_PROTECTION on, interfaces must answer the same either way."""

    user: User
    created: bool


def _email_taken_error() -> ServiceError:
    return ServiceError("invalid", field_errors=[
        {"field": "email", "code": "email_taken", "message": "A user with this email already exists."},
    ])


def register(*, email: str, password: str, name: str = "", client: ClientInfo) -> Registration:
    """Create an unverified account and email a verification link.

    For an address that is already registered nothing is created: its owner gets a notice instead, and
    (with ENUMERATION_PROTECTION) the caller cannot tell the two cases apart. An address with no canonical
    form (accounts.addresses) is refused with the field error `email_unsupported`: that depends on the
    address alone, never on whether an account exists, so the 400 tells nothing about accounts."""
    enforce_rate_limit(scope=limits.REGISTER, client=client, account=email_identity(email))
    try:
        email = normalize_email(email)
    except ValidationError as error:
        raise validation_error("email", error) from None
    name = _clean_name(name)
    # The policy is checked before the address is looked up, so a weak password gets the same 400 whether
    # or not the address is taken. The unsaved user lets the validators compare with email and name.
    check_password_policy(password, user=User(email=email, name=name))
    existing = User.objects.with_email(email).first()
    if existing is None:
        try:
            # A savepoint, not a durable transaction: a host may register users inside its own transaction
            # (see the tests), and a lost race must leave that transaction usable.
            with transaction.atomic():
                user = User.objects.create_user(email, password, name=name)
                record_security_event(events.USER_REGISTERED, user=user, client=client)
                announce(signals.user_registered, user=user)
            return Registration(user=user, created=True)
        except IntegrityError:
            # A concurrent registration of the same address won (the unique index ignores case).
            existing = User.objects.with_email(email).get()
    if not app_settings.ENUMERATION_PROTECTION:
        raise _email_taken_error()
    # Hash once, as creating the account would, so the time taken does not tell the cases apart either.
    make_password(password)
    # The notice points the owner to a password reset, never to a verification link: if an attacker
    # registered the address first, verifying would hand them an account with their password.
    announce(signals.registration_attempted_for_existing_email, user=existing)
    return Registration(user=existing, created=False)


def _send_verification_email(user: User) -> None:
    announce(signals.verification_email_requested, user=user)


def _resend_verification_after_login(user: User) -> None:
    """The password was just proven, so this is the owner, who may have lost the first email: send a
    fresh one, but at most once per VERIFY_EMAIL_RESEND_INTERVAL however often they try to log in."""
    interval = app_settings.VERIFY_EMAIL_RESEND_INTERVAL.total_seconds()
    # With the cache unreachable: no resend, rather than one email for every attempt.
    first = with_limit_cache(limits.RESEND_VERIFICATION, lambda: cache.add(
        f"accounts:verification-resent:{user.pk}", True, timeout=interval), fallback=False, best_effort=True)
    if first:
        _send_verification_email(user)


def resend_verification(*, email: str, client: ClientInfo) -> None:
    """Email a fresh verification link if the address belongs to an active, unverified account.

    Returns nothing either way, so callers answer the same for any address. The request does the same
    work either way too (one lookup, one queued task, which for no account sends nothing), and the email
    itself is rendered and sent by the task worker, so the timing does not tell either."""
    enforce_rate_limit(scope=limits.RESEND_VERIFICATION, client=client, account=email_identity(email))
    user = User.objects.with_email(email).filter(is_active=True).first()
    if user is not None and not user.email_verified:
        _send_verification_email(user)
    else:
        emails.queue_email_for(signals.verification_email_requested, user=None)


def _set_email_verified(user: User) -> bool:
    # A conditional UPDATE: of two concurrent verifications exactly one wins, without a lock.
    now = timezone.now()
    updated = User.objects.filter(pk=user.pk, email_verified_at__isnull=True).update(email_verified_at=now)
    if updated:
        user.email_verified_at = now
    return bool(updated)


def mark_email_verified(*, user: User, actor: User | None = None, client: ClientInfo | None = None) -> bool:
    """Mark the address verified (from the emailed link, or by an admin) and send the welcome email.
    Returns False if it already was verified."""
    with transaction.atomic(durable=True):
        if not _set_email_verified(user):
            return False
        record_security_event(events.EMAIL_VERIFIED, user=user, actor=actor, client=client)
        announce(signals.email_verified, user=user)
    return True


def verify_email(*, token: str, client: ClientInfo) -> User:
    """Verify an address with the emailed token. Logs nobody in and issues no tokens (NIST 800-63B
    §3.1.3.1: a verification link is not an authenticator)."""
    enforce_rate_limit(scope=limits.VERIFY_EMAIL, client=client, account=link_token_account_key(token))
    user = user_for_link_token(email_verification_tokens, token)
    # The token's HMAC covers email_verified_at, so a used token no longer matches; the conditional
    # update in mark_email_verified settles a race between two uses of the same token.
    if user is None or not user.is_active or not mark_email_verified(user=user, client=client):
        raise ServiceError("invalid_token")
    return user


# --- password reset ------------------------------------------------------------------------------------------
def send_password_reset_email(*, user: User, actor: User | None = None, client: ClientInfo | None = None) -> None:
    """Email a reset link to a known user (the reset flow, or the admin's "send password-reset email")."""
    record_security_event(events.PASSWORD_RESET_REQUESTED, user=user, actor=actor, client=client)
    announce(signals.password_reset_requested, user=user)


def request_password_reset(*, email: str, client: ClientInfo) -> None:
    """Start a reset for whoever owns `email`, if anyone. Returns nothing either way.

    Both paths do the same work in the request (one lookup, one audit row, one queued task, which for no
    account sends nothing); the email itself is rendered and sent by the task worker, so neither the
    answer nor its timing shows whether the address has an account."""
    enforce_rate_limit(scope=limits.PASSWORD_RESET, client=client, account=email_identity(email))
    user = User.objects.with_email(email).filter(is_active=True).first()
    with transaction.atomic(durable=True):  # the audit row and the queued email commit together
        if user is None:
            record_security_event(events.PASSWORD_RESET_REQUESTED, client=client, known_account=False)
            emails.queue_email_for(signals.password_reset_requested, user=None)
        else:
            send_password_reset_email(user=user, client=client)


def password_reset_token_is_valid(token: str, *, client: ClientInfo) -> bool:
    """For the browser page: show the new-password form only for a link that still works. Under the limits
    of using the link (confirm_password_reset), so the page is no free oracle for links."""
    enforce_rate_limit(scope=limits.PASSWORD_RESET_CONFIRM, client=client, account=link_token_account_key(token))
    user = user_for_link_token(password_reset_tokens, token)
    return user is not None and user.is_active


def confirm_password_reset(*, token: str, new_password: str, client: ClientInfo) -> User:
    """Set a new password with the emailed token. Every session of the user ends, and nobody is logged
    in: the user logs in with the new password."""
    enforce_rate_limit(scope=limits.PASSWORD_RESET_CONFIRM, client=client, account=link_token_account_key(token))
    with transaction.atomic(durable=True):
        # The row lock queues two concurrent uses of one token; the second then sees the new password
        # hash, which no longer matches the token's HMAC.
        user = user_for_link_token(password_reset_tokens, token, queryset=User.objects.select_for_update())
        if user is None or not user.is_active:
            raise ServiceError("invalid_token")
        set_new_password(user=user, new_password=new_password, change=PasswordChange(how="reset", client=client))
        # Following the emailed link proves control of the address, the same proof verification asks for.
        if _set_email_verified(user):
            record_security_event(events.EMAIL_VERIFIED, user=user, client=client, via="password_reset")
        # The owner proved control of the mailbox: failures others piled up on the account are forgotten.
        transaction.on_commit(lambda: login_throttle.clear_account(user, client))
    return user
