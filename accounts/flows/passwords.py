"""Passwords: the policy, changing one's password (with the current one), and the reset by emailed link.

A new password ends every session of the user whoever stores it (accounts.rules.password_replaced, which
User.save calls); these flows say how it came about (rules.PasswordChange). A change continues the caller
in a new session; a reset logs nobody in.

An account may have no usable password: one that signs in with passkeys only (mfa.flows.remove_password). It
sets one with a recent proof by a second factor instead of the current password, and a reset by email may give
it a new passkey instead of a password (mfa.flows.reset_with_passkey); both go through the steps here."""
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from authcore.audit import record_security_event
from authcore.errors import ServiceError, validation_error
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo
from sessions_app.models import Session
from sessions_app.services import IssuedTokens, lock_user, require_reauthentication, start_session

from .. import emails, events, limits, login_throttle
from ..addresses import email_identity
from ..models import User
from ..rules import PasswordChange
from ..tokens import link_rendering, link_token_account_key, password_reset_tokens, user_for_link_token
from .reauthentication import Proof, reauthenticate
from .verification import set_email_verified

emails.register_rendering("password_reset", **link_rendering(password_reset_tokens, "PASSWORD_RESET_URL_TEMPLATE"))


def check_password_policy(password: str, *, user: User | None = None, field: str = "password") -> None:
    """The password rules (settings.AUTH_PASSWORD_VALIDATORS), as a 400 with one entry per broken rule."""
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise validation_error(field, error) from None


def set_new_password(*, user: User, new_password: str, change: PasswordChange, field: str = "new_password") -> None:
    """Validate and store a new password; saving it ends every session of the user (rules.password_replaced)."""
    check_password_policy(new_password, user=user, field=field)
    user.set_password(new_password)
    user.pending_password_change = change
    user.save(update_fields=["password"])


@dataclass(frozen=True)
class PasswordChanged:
    tokens: IssuedTokens  # the caller's new session
    # For the device cookie, renewed for the new password: the device that changed it keeps its exemption
    # from the login lock (accounts/login_throttle.py).
    device_token: str


def change_password(*, user: User, session_id, current_password: str | None, new_password: str, client: ClientInfo,
                    device_token: str | None = None) -> PasswordChanged:
    """Change the password of a logged-in user. Every session of the user ends, the caller's too (no token
    issued under the old password outlives it, not even the access token of this request), and the caller
    continues in a new session, whose pair is returned. `device_token`: the device cookie the request
    carried. Always with the current password: a recent sign-in never stands in for it here (docs/security.md
    49), so a missing one fails like a wrong one. An account without a usable password (passkeys only) has
    none to give: it sets one after a recent reauthentication by a second factor, 403
    `reauthentication_required` without it (a stolen session alone cannot give the account a password)."""
    enforce_rate_limit(scope=limits.CHANGE_PASSWORD, client=client, account=str(user.pk))
    if user.has_usable_password():
        reauthenticate(user=user, session_id=session_id, proof=Proof(password=current_password or ""), client=client,
                       failure_event=events.PASSWORD_CHANGE_FAIL)
    else:
        require_reauthentication(user=user, session_id=session_id, with_factor=True)
    return replace_password_in_session(
        user=user, session_id=session_id, client=client, device_token=device_token, how="changed",
        store=lambda change: set_new_password(user=user, new_password=new_password, change=change))


def replace_password_in_session(*, user: User, session_id, client: ClientInfo, device_token: str | None, how: str,
                                store: Callable[[PasswordChange], None]) -> PasswordChanged:
    """The end of a password change its owner made, once they proved who they are: `store(change)` saves the new
    password (or none, for "removed"), which ends every session of the user, and the caller continues in a new
    one."""
    with transaction.atomic(durable=True):
        # The user's row before the session's: the order a login takes them in, when it ends the oldest session
        # to make room for a new one (sessions_app.services.lock_user).
        lock_user(user)
        # The caller's session may have ended since authentication (another device ended it): then the
        # request is no longer authenticated, so refuse before changing anything. The row lock queues a
        # concurrent change from the same session, which then finds it ended.
        current = Session.objects.alive().select_for_update().filter(pk=session_id, user=user).first()
        if current is None:
            raise ServiceError("token_not_valid")
        store(PasswordChange(how=how, client=client, session_id=str(session_id)))
        # Who made the change just proved who they are: a fresh authentication, like a login, so the new
        # session gets a fresh absolute lifetime (and a new server-chosen id). It keeps the transport and the
        # name the client chose for the one it replaces, and how that one was signed in (its `amr`; the
        # password just typed is no proof by a factor).
        tokens = start_session(user=user, client=client, transport=current.transport,
                               device_name=current.device_name, device_id=current.device_id,
                               auth_methods=tuple(current.amr), dpop_jkt=current.dpop_jkt, user_locked=True)
    return PasswordChanged(tokens=tokens, device_token=login_throttle.device_token_after_password_change(
        user, device_token, session_device_id=current.device_id))


def send_password_reset_email(*, user: User, actor: User | None = None, client: ClientInfo | None = None) -> None:
    """Email a reset link to a known user (the reset flow, or the admin's "send password-reset email")."""
    record_security_event(events.PASSWORD_RESET_REQUESTED, user=user, actor=actor, client=client)
    emails.announce("password_reset_requested", user=user)


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
            emails.announce("password_reset_requested", user=None)
        else:
            send_password_reset_email(user=user, client=client)


def password_reset_user(token: str, *, client: ClientInfo) -> User | None:
    """Whose reset link `token` is, while it still works (None once spent or expired), under the limits of using
    the link (redeem_password_reset), so that looking is no free oracle for links."""
    enforce_rate_limit(scope=limits.PASSWORD_RESET_CONFIRM, client=client, account=link_token_account_key(token))
    user = user_for_link_token(password_reset_tokens, token)
    return user if user is not None and user.is_active else None


def password_reset_token_is_valid(token: str, *, client: ClientInfo) -> bool:
    """For the browser page: show the new-password form only for a link that still works."""
    return password_reset_user(token, client=client) is not None


@dataclass(frozen=True)
class PasswordReset:
    user: User
    # For the device cookie: the mailbox was proven, so this device is one of the owner's, which the login
    # lock spares (accounts/login_throttle.py).
    device_token: str


def confirm_password_reset(*, token: str, new_password: str, client: ClientInfo) -> PasswordReset:
    """Set a new password with the emailed token. Every session of the user ends, and nobody is logged
    in: the user logs in with the new password."""
    enforce_rate_limit(scope=limits.PASSWORD_RESET_CONFIRM, client=client, account=link_token_account_key(token))
    return redeem_password_reset(
        token=token, client=client,
        store=lambda user, change: set_new_password(user=user, new_password=new_password, change=change))


def redeem_password_reset(*, token: str, client: ClientInfo, how: str = "reset",
                          store: Callable[[User, PasswordChange], None]) -> PasswordReset:
    """Spend the emailed token: `store(user, change)` saves what replaces the password (a new one, or none beside a
    new passkey: mfa.flows.reset_with_passkey), which ends every session of the user and kills every other link
    sent before. Nobody is logged in. The caller enforced the limits of using a link."""
    with transaction.atomic(durable=True):
        # The row lock queues two concurrent uses of one token; the second then sees the new password
        # hash, which no longer matches the token's HMAC.
        user = user_for_link_token(password_reset_tokens, token, queryset=User.objects.select_for_update())
        if user is None or not user.is_active:
            raise ServiceError("invalid_token")
        store(user, PasswordChange(how=how, client=client))
        # Following the emailed link proves control of the address, the same proof verification asks for.
        if set_email_verified(user):
            record_security_event(events.EMAIL_VERIFIED, user=user, client=client, via="password_reset")
        # The owner proved control of the mailbox: failures others piled up on the account are forgotten.
        transaction.on_commit(lambda: login_throttle.clear_account(user, client))
    return PasswordReset(user=user, device_token=login_throttle.device_token_for(user))
