"""Deactivating an account (an operator in the admin): every session ends at once, with the operator as the
actor of the record. Saving a user inactive by any other path ends the sessions too (accounts.rules), but
this flow counts them and names who did it."""
from django.db import transaction
from django.utils.translation import gettext

from authcore.audit import record_security_event
from authcore.errors import ServiceError
from authcore.requestmeta import ClientInfo
from sessions_app.models import Session
from sessions_app.services import end_user_sessions

from .. import events
from ..models import User


def deactivate_user(*, user: User, actor: User | None = None, client: ClientInfo | None = None) -> int:
    """Deactivate an account and end all its sessions at once; returns how many sessions were ended."""
    if actor is not None and actor.pk == user.pk:
        # An operator locking themselves out by mistake gains nothing; another operator can do it.
        raise ServiceError("permission_denied", gettext("You cannot deactivate your own account."))
    with transaction.atomic(savepoint=False):
        # Sessions first, so the count and the audit record (with the operator as actor) are ours; the
        # save's own hook (User.save) then finds none left to end.
        ended = end_user_sessions(user=user, reason=Session.RevokeReason.USER_DEACTIVATED, actor=actor, client=client)
        user.is_active = False
        user.save(update_fields=["is_active"])
        record_security_event(events.USER_DEACTIVATED, user=user, actor=actor, client=client, sessions_ended=ended)
    return ended
