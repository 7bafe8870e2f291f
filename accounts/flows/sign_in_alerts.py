"""Sign-in alerts: the emails that tell a user something happened to their account that they may not have
done themselves.

1. New sign-in alert ("new_sign_in"). A successful login (flows.login.log_in) from a device the user has not
   used before queues an email, in the login's own transaction, with the device, the IP address, the time
   and a one-click "this wasn't me" link (flows.not_me). No alert for the account's very first login
   (user.last_login still empty, as right after registration): there is no "before" to compare with.
   Switched off with ACCOUNTS["SIGN_IN_ALERTS"] = False.

   A device counts as KNOWN, and gets no alert, if either
   - the login presents this account's valid device cookie (accounts/device_cookie.py), issued at an
     earlier successful login under the current password and not reported since: the same check that
     spares a device the login lockout (login_throttle.LoginAttempt); or
   - one of the user's last RECENT_SESSIONS sessions on record (ended ones too, until they are purged) has
     the same parsed device label ("Chrome on Linux") and came from the same network (the IPv4 /24 or the
     IPv6 /48 of the address). A session the user reported never vouches for its device: that was
     somebody else.
   Anything else is NEW. The label and the network are loose on purpose: a browser update or a new address
   from the same provider should not alert; a different browser, system or network should.

2. Reuse alert ("session_ended_reuse"). When a spent refresh token comes back, sessions_app ends the whole
   family and sends refresh_token_reuse_detected in that transaction; the receiver here queues an email
   telling the user a session was ended to protect them, and what to do. It carries no link token.

Every email goes through the durable queue (accounts/emails.py) and is sent after the transaction commits;
a rolled-back login or revocation sends nothing.
"""
from datetime import datetime
import functools

from django.db import connection
from django.dispatch import receiver

from authcore.backends import fetch_all_prepared
from authcore.requestmeta import ClientInfo, client_network
from sessions_app.models import Session
from sessions_app.signals import refresh_token_reuse_detected

from .. import emails, events
from ..conf import app_settings
from ..models import User

# How many of the user's latest sessions a login is compared with: one bounded query per login.
RECENT_SESSIONS = 20

# The networks that count as "the same place". Wider than the login throttle's IPv6 /64: a home or an
# office usually gets a /48 (or a /56 inside one) and providers move customers between its /64s.
IPV4_NETWORK_PREFIX = 24
IPV6_NETWORK_PREFIX = 48


def network_of(ip_address: str | None):
    """The network an address belongs to for sign-in alerts; None when the address is unknown."""
    return client_network(ip_address, ipv4_prefix=IPV4_NETWORK_PREFIX, ipv6_prefix=IPV6_NETWORK_PREFIX)


# Sessions that ended this way may have been somebody else's, so they never vouch for their device: the one
# the user reported, a family ended for a replayed refresh token, and everything a password reset ended (the
# reset is what the alerts tell a worried user to do; an attacker who comes back with a re-phished password
# from the same place must still be announced). The owner's own devices are announced once after a reset.
UNTRUSTED_ENDINGS = (events.NOT_ME_REASON, Session.RevokeReason.TOKEN_REUSED, events.PASSWORD_RESET_REASON)


@functools.cache
def _recent_sessions_sql(vendor: str) -> str:  # per database vendor: its quoting
    """The device label and address of a user's latest sessions but one, leaving out UNTRUSTED_ENDINGS, newest
    first: what the ORM's `filter(user=user).exclude(pk=session.pk).exclude(revoke_reason__in=UNTRUSTED_ENDINGS)
    .order_by("-created_at").values_list("device", "ip_address")[:RECENT_SESSIONS]` asks (revoke_reason is never
    NULL, so NOT IN leaves nothing else out)."""
    untrusted = ", ".join(f"%(untrusted{number})s" for number in range(len(UNTRUSTED_ENDINGS)))
    return (f"SELECT s.device, s.ip_address FROM {connection.ops.quote_name(Session._meta.db_table)} AS s"
            f" WHERE s.user_id = %(user)s AND s.id <> %(session)s AND s.revoke_reason NOT IN ({untrusted})"
            f" ORDER BY s.created_at DESC LIMIT {RECENT_SESSIONS}")


def _seen_recently(user: User, session: Session) -> bool:
    """Whether one of the user's latest sessions before this one had the same device label and network."""
    network = network_of(session.ip_address)
    if network is None:  # nothing to compare: an unknown address never matches
        return False
    # A fixed statement, prepared once per connection: a login from a device without the cookie runs it.
    recent = fetch_all_prepared(connection, _recent_sessions_sql(connection.vendor), {
        "user": Session._meta.get_field("user").get_db_prep_value(user.pk, connection),
        "session": Session._meta.pk.get_db_prep_value(session.pk, connection),
        **{f"untrusted{number}": str(reason) for number, reason in enumerate(UNTRUSTED_ENDINGS)}})
    return any(device == session.device and network_of(ip) == network for device, ip in recent)


def is_new_device(*, user: User, session: Session, known_device: bool) -> bool:
    """The definition in the module docstring, for the login that just opened `session`; `known_device`:
    the login presented a device cookie that vouches for it (flows.login.ProvenCredentials)."""
    return not (known_device or _seen_recently(user, session))


def alert_if_new_device(*, user: User, session: Session, known_device: bool,
                        previous_login: datetime | None) -> bool:
    """Called by flows.login.log_in inside its transaction, once the new session exists: queue the sign-in
    alert if this is a new device. `previous_login` is the user's last_login before this one. Returns
    whether it queued."""
    if not app_settings.SIGN_IN_ALERTS or previous_login is None:
        return False
    if not is_new_device(user=user, session=session, known_device=known_device):
        return False
    # Only what the email shows, and the session id the link is minted from at render time. The parsed
    # label, not the name the client chose for itself: whoever logged in could call their device "your
    # phone".
    # To the address the account has now, even if it changes before the worker sends it.
    emails.announce("new_sign_in", user=user, to=user.email, session_id=str(session.id), device=session.device,
                    ip_address=session.ip_address, signed_in_at=session.created_at.isoformat())
    return True


@receiver(refresh_token_reuse_detected, dispatch_uid="accounts.flows.sign_in_alerts.reuse_alert")
def queue_reuse_alert(sender, *, session: Session, client: ClientInfo, **kwargs) -> None:
    """Queue the reuse email in the transaction that ended the session (it commits or rolls back with it)."""
    emails.announce("session_ended_reuse", user=session.user, to=session.user.email, device=session.device,
                    ended_at=session.revoked_at.isoformat())


def reuse_alert_context(user: User, details: dict) -> dict:
    return {"ended_at": datetime.fromisoformat(details["ended_at"])}


emails.register_rendering("session_ended_reuse", context=reuse_alert_context)
