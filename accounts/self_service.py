"""What a user does to their own account without writing to support: change the email address and delete
the account. (Export is accounts.export; the alerts the user gets are accounts.notifications.) The API,
the browser pages and the admin call these functions; the rules live here.

Changing the address: nothing changes when it is asked for. The new address gets a confirmation link
(single use, expiring, only the latest works); following it changes the address, and the old address is
told, with the new one partly masked. A new address that already belongs to another account gets the
same answer and the same work (its owner gets a notice instead of a link), so the request tells nothing
about who has an account. The sessions stay: the address is how the user is reached and logs in, not a
credential, and the password did not change.

Deleting: the account row goes (so its address can register again), and with it its sessions and their
refresh-token history; every session is ended first, so its access tokens stop at once. What stays, for
the audit trail: the security events, unlinked from the account (their user is set to NULL) and deleted
with every other event after AUTHCORE SECURITY_EVENT_RETENTION (365 days by default), and one `user_deleted`
event holding the former account id; the finished email tasks, which hold addresses, until
`prune_db_task_results` removes them (README: Deployment).
"""
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from authcore.audit import record_security_event
from authcore.errors import ServiceError, validation_error
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo
from sessions_app.services import end_user_sessions

from . import emails, events, limits, signals
from .addresses import email_identity
from .models import User, normalize_email
from .reauthentication import Proof, reauthenticate
from .services import ChangedBy
from .tokens import email_change_tokens, link_token_account_key, user_for_link_token


# --- change the email address ------------------------------------------------------------------------------
def request_email_change(*, user: User, password: str, new_email: str, client: ClientInfo,
                         session_id) -> None:
    """Ask to move the account to `new_email`. Returns nothing whether or not the address is free."""
    enforce_rate_limit(scope=limits.CHANGE_EMAIL, client=client, account=str(user.pk))
    try:
        new_email = normalize_email(new_email)
    except ValidationError as error:
        raise validation_error("new_email", error) from None
    enforce_rate_limit(scope=limits.CHANGE_EMAIL_TARGET, client=client, account=email_identity(new_email))
    if email_identity(new_email) == email_identity(user.email):
        raise ServiceError("invalid", field_errors=[{"field": "new_email", "code": "email_unchanged",
                                                      "message": "This is already your address."}])
    reauthenticate(user=user, session_id=session_id, proof=Proof(password=password), client=client,
                   failure_event=events.EMAIL_CHANGE_FAIL)
    owner = User.objects.with_email(new_email).exclude(pk=user.pk).only("pk", "email").first()
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
            emails.queue_email(user=user, template="confirm_email_change", to=new_email, new_email=new_email,
                               requested_at=now.isoformat(), account_state=emails.email_change_account_state(user))
        else:
            # The mailbox's owner hears that someone tried to move an account onto their address; the
            # requester's name is not in it (they chose it).
            # (To the address as its owner stored it, whatever spelling was typed here.)
            emails.queue_email(user=user, template="email_change_taken", to=owner.email)


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
            # User.save audits the change and tells the old address (services.email_address_replaced), and
            # clears the verification of a new address; the link just proved this one.
            user.pending_changed_by = ChangedBy(client=client)
            user.save(update_fields=["email", "pending_email", "pending_email_requested_at"])
            user.email_verified_at = timezone.now()
            User.objects.filter(pk=user.pk).update(email_verified_at=user.email_verified_at)
    except IntegrityError:
        raise ServiceError("email_taken") from None
    return user


# --- delete the account -------------------------------------------------------------------------------------
def delete_account(*, user: User, password: str, client: ClientInfo, session_id) -> None:
    """The owner deletes their account, proving the current password (a stolen access token alone is not
    enough). Only ever the caller's own account, so it can probe nobody else's."""
    enforce_rate_limit(scope=limits.DELETE_ACCOUNT, client=client, account=str(user.pk))
    reauthenticate(user=user, session_id=session_id, proof=Proof(password=password), client=client,
                   failure_event=events.ACCOUNT_DELETE_FAIL)
    with transaction.atomic(durable=True):
        erase_account(user=user, client=client)


def erase_account(*, user: User, actor: User | None = None, client: ClientInfo | None = None) -> bool:
    """What deleting an account means, whoever does it (its owner, an operator in the admin): every session
    ends, the deletion is audited, the address it had is told, and the row goes (the module docstring says
    what stays). Joins the caller's transaction. Returns False if the account was already gone."""
    if actor is not None and actor.pk == user.pk:
        raise ServiceError("permission_denied", "Delete your own account from your account, not the admin.")
    with transaction.atomic(savepoint=False):
        # The row lock settles a race with another deletion of the same account; a login that passed its
        # password check meanwhile finds the row gone (log_in's conditional update). NO KEY: rows that merely
        # refer to the user (an audit record a refresh writes while it holds its own row lock) are not
        # blocked, so such a transaction finishes instead of deadlocking with this one.
        if not User.objects.select_for_update(no_key=True).filter(pk=user.pk).exists():
            return False
        ended = end_user_sessions(user=user, reason=events.ACCOUNT_DELETED_REASON, actor=actor, client=client)
        record_security_event(events.ACCOUNT_DELETED, actor=actor, client=client, former_user_id=str(user.pk),
                              sessions_ended=ended)
        emails.queue_email(user=None, template="account_deleted", to=user.email)
        user_id, address = user.pk, user.email
        user.delete()
        transaction.on_commit(lambda: signals.account_deleted.send_robust(sender=User, user_id=user_id,
                                                                          email=address))
    return True
