"""Deleting an account: the row goes (so its address can register again), and with it its sessions and
their refresh-token history; every session is ended first, so its access tokens stop at once. What stays,
for the audit trail: the security events, unlinked from the account (their user is set to NULL) and deleted
with every other event after AUTHCORE SECURITY_EVENT_RETENTION (365 days by default), and one `user_deleted`
event holding the former account id; the finished email tasks, which hold addresses, until
`prune_db_task_results` removes them (docs/how-to/operate.md)."""
from django.db import transaction
from django.utils.translation import gettext

from authcore.audit import record_security_event
from authcore.errors import ServiceError
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo
from sessions_app.services import end_user_sessions

from .. import emails, events, limits
from ..models import User
from .reauthentication import Proof, reauthenticate


def delete_account(*, user: User, password: str | None, client: ClientInfo, session_id) -> None:
    """The owner deletes their account, proving the current password (a stolen access token alone is not
    enough; `password` None: a browser session that proved itself recently, flows.reauthentication). Only ever
    the caller's own account, so it can probe nobody else's."""
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
        raise ServiceError("permission_denied", gettext("Delete your own account from your account, not the admin."))
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
        emails.announce("account_deleted", user=None, to=user.email, to_language=user.language,
                        signal_args={"user_id": user.pk, "email": user.email})
        user.delete()
    return True
