"""The user rules: what a change to a user means, whoever stores it. `User.save` and `UserQuerySet.update`
(accounts.models) call these in the transaction of the write, so a flow, the admin, Django's own commands
and a shell all get the same effects:

- a new password hash ends every session of the user, is audited and told to the user (password_replaced);
- deactivating a user (or reactivating one stored inactive) ends their live sessions (account_deactivated);
- a new address is unverified until proven again (email_address_changed), and the change is audited and
  told to the old address (email_address_replaced);
- privileges and the profile are audited (user_fields_changed).

This module imports no flow and no model (it is imported by the models): a flow that knows more about a
change (who made it, from where, why) passes that along on the instance it saves (User.pending_changed_by,
User.pending_password_change).
"""
from dataclasses import dataclass

from authcore.audit import record_security_event
from authcore.requestmeta import ClientInfo, acting_operator
from sessions_app.models import Session
from sessions_app.services import end_sessions_of_users, end_user_sessions

from . import emails, events
from .addresses import email_identity, mask_email


@dataclass(frozen=True)
class ChangedBy:
    """Who changed a user and from where, for the audit record of what a save does: an operator (`actor`)
    or the user themselves (no actor)."""

    actor: object | None = None
    client: ClientInfo | None = None


def _changed_by(changed_by: ChangedBy | None) -> ChangedBy:
    """What a flow said, else the operator acting in the admin, else nobody known (a shell, a script)."""
    if changed_by is not None:
        return changed_by
    operator = acting_operator()
    return ChangedBy(actor=operator.actor, client=operator.client) if operator else ChangedBy()


@dataclass(frozen=True)
class PasswordChange:
    """How a password came to be replaced, for what follows it."""

    # "changed" by its owner, "reset" with an emailed link, "set" by anyone else; for an account that signs in with
    # passkeys only: "removed" by its owner (no password any more), "recovered" with an emailed link that added a
    # new passkey instead of setting a password.
    how: str = "set"
    actor: object | None = None  # an operator acting on the user's account
    client: ClientInfo | None = None
    session_id: str | None = None  # the session that made the change ("changed")


def password_replaced(*, user, change: PasswordChange | None = None) -> int:
    """What every password change means: every session of the user ends, the change is audited, and the
    user is told. A save outside the flows (the admin's password forms, Django's `changepassword`, a shell)
    is a "set", by the operator acting in the admin if there is one. Returns how many sessions were ended."""
    if change is None:
        operator = acting_operator()
        change = PasswordChange(actor=operator.actor, client=operator.client) if operator else PasswordChange()
    reset = change.how in ("reset", "recovered")
    reason = events.PASSWORD_RESET_REASON if reset else events.PASSWORD_CHANGED_REASON
    ended = end_user_sessions(user=user, reason=reason, actor=change.actor, client=change.client)
    record_security_event(events.PASSWORD_RESET if reset else events.PASSWORD_CHANGED, user=user, actor=change.actor,
                          client=change.client, session_id=change.session_id, sessions_ended=ended, how=change.how)
    emails.announce("password_changed", user=user, reason=change.how)
    return ended


def account_deactivated(user) -> None:
    """The user's is_active went false, or true from a stored false: no token issued before lives on. One
    UPDATE; an audit record only if it ended something (flows.deactivation ends them first, as the actor)."""
    end_user_sessions(user=user, reason=Session.RevokeReason.USER_DEACTIVATED)


def accounts_deactivated(users) -> None:
    """account_deactivated for a queryset of users (a bulk update): one UPDATE whatever their number."""
    end_sessions_of_users(users=users, reason=Session.RevokeReason.USER_DEACTIVATED)


def email_address_changed(*, user, previous_email: str) -> bool:
    """`user.email` has just been given a new value (before it is saved). An address nobody has proven is
    not verified: the user verifies it before the next login. Retyping the same address in another spelling
    (case, fullwidth letters) changes nothing. Returns whether it is another address."""
    if email_identity(previous_email) == email_identity(user.email):
        return False
    user.email_verified_at = None
    return True


def email_address_replaced(*, user, previous_email: str, previous_verified: bool,
                           changed_by: ChangedBy | None = None) -> None:
    """What every change of address means (after the save): it is audited, with the operator if one did it,
    and the old address is told, with the new one masked (an intruder who moved the account must not keep
    its owner from hearing of it) if it was verified: an address nobody proved (a typo an operator corrects,
    one registered by someone else) may be a stranger's. The sessions stay: the address is how the user is
    reached and logs in, not a credential."""
    changed_by = _changed_by(changed_by)
    told = bool(previous_email and previous_verified)
    record_security_event(events.EMAIL_CHANGED, user=user, actor=changed_by.actor, client=changed_by.client,
                          previous_address_told=told)
    signal_args = {"user": user, "previous_email": previous_email}
    if told:
        emails.announce("email_changed", user=user, to=previous_email, signal_args=signal_args,
                        masked_new_email=mask_email(user.email))
    else:
        emails.send_signal("email_changed", **signal_args)


PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


def user_fields_changed(*, user, changes: dict, changed_by: ChangedBy | None = None) -> None:
    """Privileges granted or removed, and profile edits: one audit record each. `changes` maps a field of
    User.AUDITED_FIELDS to (before, after), or "groups" / "user_permissions" to {"added" or "removed":
    [names]}; a name's values are not recorded, only that it changed (the event log is no copy of the
    profile)."""
    changed_by = _changed_by(changed_by)
    privileges = {name: ({"from": change[0], "to": change[1]} if name in ("is_staff", "is_superuser") else change)
                  for name, change in changes.items() if name in PRIVILEGE_FIELDS}
    if privileges:
        record_security_event(events.PRIVILEGES_CHANGED, user=user, actor=changed_by.actor, client=changed_by.client,
                              **privileges)
    profile = sorted(name for name in changes if name not in privileges)
    if profile:
        record_security_event(events.PROFILE_UPDATED, user=user, actor=changed_by.actor, client=changed_by.client,
                              fields=profile)
