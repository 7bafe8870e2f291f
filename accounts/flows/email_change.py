"""Changing the email address: nothing changes when it is asked for. The new address gets a confirmation
link (single use, expiring, only the latest works); following it changes the address, and the old address
is told, with the new one partly masked (accounts.rules.email_address_replaced, as for any change of
address). A new address that already belongs to another account gets the same answer and the same work
(its owner gets a notice instead of a link), so the request tells nothing about who has an account. The
sessions stay: the address is how the user is reached and logs in, not a credential, and the password did
not change."""
import hashlib

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from authcore.audit import record_security_event
from authcore.errors import ServiceError, validation_error
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo

from .. import emails, events, limits
from ..addresses import canonical_email, email_identity
from ..models import User
from ..rules import ChangedBy
from ..tokens import email_change_tokens, link_rendering, link_token_account_key, user_for_link_token
from .reauthentication import Proof, reauthenticate


def account_state(user: User) -> str:
    """What an address change's confirmation depends on besides the pending address: the current address and
    when the password last changed. Queued with the request and compared when the link is about to be
    minted, so a password reset by the owner (or any address change) cancels an attacker's pending request
    even if its email has not gone out yet."""
    changed = user.password_changed_at.isoformat() if user.password_changed_at else ""
    return hashlib.sha256(f"{user.email}|{changed}".encode()).hexdigest()


def _still_wanted(user: User, details: dict) -> bool:
    """A confirmation for a request that a newer one replaced, or that a password change cancelled, is not
    sent."""
    return (user.pending_email == details.get("new_email") and user.pending_email_requested_at is not None
            and user.pending_email_requested_at.isoformat() == details.get("requested_at")
            and account_state(user) == details.get("account_state"))


emails.register_rendering("confirm_email_change", still_wanted=_still_wanted,
                          **link_rendering(email_change_tokens, "EMAIL_CHANGE_URL_TEMPLATE"))


def request_email_change(*, user: User, password: str | None, new_email: str, client: ClientInfo,
                         session_id) -> None:
    """Ask to move the account to `new_email`. Returns nothing whether or not the address is free. `password`
    None: a browser session that proved itself recently (flows.reauthentication)."""
    enforce_rate_limit(scope=limits.CHANGE_EMAIL, client=client, account=str(user.pk))
    try:
        new_email = canonical_email(new_email)
    except ValidationError as error:
        raise validation_error("new_email", error) from None
    enforce_rate_limit(scope=limits.CHANGE_EMAIL_TARGET, client=client, account=email_identity(new_email))
    if email_identity(new_email) == email_identity(user.email):
        raise ServiceError("invalid", field_errors=[{"field": "new_email", "code": "email_unchanged",
                                                      "message": gettext("This is already your address.")}])
    reauthenticate(user=user, session_id=session_id, proof=Proof(password=password), client=client,
                   failure_event=events.EMAIL_CHANGE_FAIL)
    owner = User.objects.with_email(new_email).exclude(pk=user.pk).only("pk", "email", "language").first()
    now = timezone.now()
    with transaction.atomic(durable=True):
        # Stored either way, so the account reads the same afterwards (the export shows it) whether or not
        # the address was free; a taken one is never confirmed, since no link is sent for it.
        User.objects.filter(pk=user.pk).update(pending_email=new_email, pending_email_requested_at=now)
        user.pending_email, user.pending_email_requested_at = new_email, now
        record_security_event(events.EMAIL_CHANGE_REQUESTED, user=user, client=client)
        if owner is None:
            # What the worker checks before it mints the link: a link is rendered from the account as it is
            # then, so a password change (or another address change) in between must cancel it.
            emails.announce("email_change_requested", user=user, to=new_email, new_email=new_email,
                            requested_at=now.isoformat(), account_state=account_state(user))
        else:
            # The mailbox's owner hears that someone tried to move an account onto their address; the
            # requester's name is not in it (they chose it).
            # (To the address as its owner stored it, whatever spelling was typed here.)
            emails.announce("email_change_taken", user=user, to=owner.email, to_language=owner.language)


def pending_email_for_token(token: str, *, client: ClientInfo) -> str | None:
    """For the browser page: the address a link that still works would confirm (shown next to the
    button, so the user sees what they accept), or None. Under the limits of using the link
    (confirm_email_change), so the page is no free oracle for links."""
    enforce_rate_limit(scope=limits.CONFIRM_EMAIL_CHANGE, client=client, account=link_token_account_key(token))
    user = user_for_link_token(email_change_tokens, token)
    return user.pending_email if user is not None and user.is_active and user.pending_email else None


def confirm_email_change(*, token: str, client: ClientInfo) -> User:
    """Follow the confirmation link: the account's address becomes the pending one, verified (the link
    proved the mailbox), and the old address is told. 409 `email_taken` if another account took the
    address meanwhile (the database's case-insensitive unique index decides a race: one wins)."""
    enforce_rate_limit(scope=limits.CONFIRM_EMAIL_CHANGE, client=client, account=link_token_account_key(token))
    try:
        with transaction.atomic(durable=True):
            # The row lock queues two uses of one link; the second then finds the pending address cleared,
            # which no longer matches the token's HMAC.
            user = user_for_link_token(email_change_tokens, token, queryset=User.objects.select_for_update())
            if user is None or not user.is_active or not user.pending_email:
                raise ServiceError("invalid_token")
            user.email, user.pending_email, user.pending_email_requested_at = user.pending_email, "", None
            # User.save audits the change and tells the old address (rules.email_address_replaced), and
            # clears the verification of a new address; the link just proved this one.
            user.pending_changed_by = ChangedBy(client=client)
            user.save(update_fields=["email", "pending_email", "pending_email_requested_at"])
            user.email_verified_at = timezone.now()
            User.objects.filter(pk=user.pk).update(email_verified_at=user.email_verified_at)
    except IntegrityError:
        raise ServiceError("email_taken") from None
    return user
