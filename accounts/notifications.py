"""Security notifications: the emails that tell a user something happened to their account that they may
not have done themselves.

1. New sign-in alert ("new_sign_in"). A successful login (services.log_in) from a device the user has not
   used before queues an email, in the login's own transaction, with the device, the IP address, the time
   and a one-click "this wasn't me" link. No alert for the account's very first login (user.last_login
   still empty, as right after registration): there is no "before" to compare with. Switched off with
   ACCOUNTS["SIGN_IN_ALERTS"] = False.

   A device counts as KNOWN, and gets no alert, if either
   - the login presents this account's valid device cookie (accounts/device_cookie.py), issued at an
     earlier successful login under the current password: the same check that spares a device the login
     lockout (login_throttle.LoginAttempt.from_trusted_device); or
   - one of the user's last RECENT_SESSIONS sessions on record (ended ones too, until they are purged) has
     the same parsed device label ("Chrome on Linux") and came from the same network (the IPv4 /24 or the
     IPv6 /48 of the address). A session the user reported with the link below never vouches for its
     device: that was somebody else.
   Anything else is NEW. The label and the network are loose on purpose: a browser update or a new address
   from the same provider should not alert; a different browser, system or network should.

2. The "this wasn't me" link. Signed with its own salt (django.core.signing), naming the session of that
   login, valid for NOT_ME_LINK_LIFETIME, and minted when the email is rendered (emails.CONTEXT_AT_RENDER),
   so no token waits in the queue. Following it ends that session at once (its access tokens stop working
   on their next request, since authentication checks the session) and records a security event. A report
   distrusts the device itself, not only that session: every session started with the device cookie that
   login was given (Session.device_id) ends too, and that cookie never again spares an alert or the login
   lock (models.DistrustedDevice). It works once: ending the session is what spends it, so a second use,
   or a use after the session was ended some other way, is refused with `invalid_token`.

3. Reuse alert ("session_ended_reuse"). When a spent refresh token comes back, sessions_app ends the whole
   family and sends refresh_token_reuse_detected in that transaction; the receiver here queues an email
   telling the user a session was ended to protect them, and what to do. It carries no link token.

Every email goes through the durable queue (accounts/emails.py) and is sent after the transaction commits;
a rolled-back login or revocation sends nothing.
"""
from datetime import datetime
import ipaddress
import re
import uuid

from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.urls import NoReverseMatch
from django.utils import timezone

from authcore.audit import record_security_event
from authcore.errors import ServiceError
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo
from sessions_app.models import Session
from sessions_app.services import end_session
from sessions_app.signals import refresh_token_reuse_detected

from . import emails, events, limits
from .conf import app_settings
from .models import DistrustedDevice, User

NEW_SIGN_IN_EMAIL = "new_sign_in"
REUSE_EMAIL = "session_ended_reuse"

# How many of the user's latest sessions a login is compared with: one bounded query per login.
RECENT_SESSIONS = 20
# The networks that count as "the same place". Wider than the login throttle's IPv6 /64: a home or an
# office usually gets a /48 (or a /56 inside one) and providers move customers between its /64s.
IPV4_NETWORK_PREFIX = 24
IPV6_NETWORK_PREFIX = 48

# The link's token: django.core.signing's "<payload>:<timestamp>:<signature>", all base64url. The payload is
# a session id (a UUID) and the signature a SHA-256 HMAC, so a real token is about 100 characters; anything
# longer, or of another shape, is refused as malformed before any signature is checked.
NOT_ME_SALT = "accounts.notifications.not_me"
NOT_ME_TOKEN_MAX_LENGTH = 200
NOT_ME_TOKEN_PATTERN = r"^[A-Za-z0-9_-]+:[A-Za-z0-9]+:[A-Za-z0-9_-]+$"


# --- what counts as a new device ---------------------------------------------------------------------------
def network_of(ip_address: str | None) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The network an address belongs to for sign-in alerts; None when the address is unknown."""
    if not ip_address:
        return None
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:  # "::ffff:203.0.113.7" is an IPv4 client
        address = address.ipv4_mapped
    prefix = IPV4_NETWORK_PREFIX if address.version == 4 else IPV6_NETWORK_PREFIX
    return ipaddress.ip_network(f"{address}/{prefix}", strict=False)


# Sessions that ended this way may have been somebody else's, so they never vouch for their device: the one
# the user reported, a family ended for a replayed refresh token, and everything a password reset ended (the
# reset is what the alerts tell a worried user to do; an attacker who comes back with a re-phished password
# from the same place must still be announced). The owner's own devices are announced once after a reset.
UNTRUSTED_ENDINGS = (events.NOT_ME_REASON, Session.RevokeReason.TOKEN_REUSED, events.PASSWORD_RESET_REASON)


def _seen_recently(user: User, session: Session) -> bool:
    """Whether one of the user's latest sessions before this one had the same device label and network."""
    network = network_of(session.ip_address)
    if network is None:  # nothing to compare: an unknown address never matches
        return False
    earlier = (Session.objects.filter(user=user).exclude(pk=session.pk)
               .exclude(revoke_reason__in=UNTRUSTED_ENDINGS))
    recent = earlier.order_by("-created_at").values_list("device", "ip_address")[:RECENT_SESSIONS]
    return any(device == session.device and network_of(ip) == network for device, ip in recent)


def is_new_device(*, user: User, session: Session, known_device: bool) -> bool:
    """The definition in the module docstring, for the login that just opened `session`; `known_device`:
    the login presented a device cookie that vouches for it (services.ProvenCredentials)."""
    return not (known_device or _seen_recently(user, session))


def alert_if_new_device(*, user: User, session: Session, known_device: bool,
                        previous_login: datetime | None) -> bool:
    """Called by services.log_in inside its transaction, once the new session exists: queue the sign-in
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
    emails.queue_email(user=user, template=NEW_SIGN_IN_EMAIL, to=user.email, session_id=str(session.id),
                       device=session.device,
                       ip_address=session.ip_address, signed_in_at=session.created_at.isoformat())
    return True


# --- the "this wasn't me" link -----------------------------------------------------------------------------
def not_me_token(session_id: str) -> str:
    return signing.dumps(str(session_id), salt=NOT_ME_SALT)


def _session_id_in(token: str, *, max_age: float | None) -> str | None:
    """The session id a well-formed token was signed for; None for anything forged, tampered or (with
    max_age) expired."""
    # fullmatch: "$" alone would let a trailing line break through.
    if not isinstance(token, str) or len(token) > NOT_ME_TOKEN_MAX_LENGTH or not re.fullmatch(
            NOT_ME_TOKEN_PATTERN, token):
        return None
    try:
        session_id = uuid.UUID(signing.loads(token, salt=NOT_ME_SALT, max_age=max_age))
    except (signing.BadSignature, TypeError, ValueError):  # BadSignature includes SignatureExpired
        return None
    return str(session_id)


def not_me_link(token: str) -> str:
    return emails.emailed_link("NOT_ME_URL_TEMPLATE", token)


def new_sign_in_context(user: User, details: dict) -> dict:
    """What the new_sign_in email needs beyond its queued details (emails.CONTEXT_AT_RENDER): the link,
    minted now, and the time as a datetime for the templates."""
    try:
        link = not_me_link(not_me_token(details["session_id"]))
    except NoReverseMatch:
        # The pages are not mounted and no NOT_ME_URL_TEMPLATE is set: the alert still goes out, with the
        # advice to reset the password instead of the link.
        link = None
    return {"link": link, "lifetime": emails.human_duration(app_settings.NOT_ME_LINK_LIFETIME),
            "signed_in_at": datetime.fromisoformat(details["signed_in_at"])}


def session_to_report(token: str, *, client: ClientInfo) -> Session | None:
    """For the browser page: the session a link names while the link still works (signed, not expired, the
    session not ended yet), to show what is about to be ended; None otherwise. Reads only, under the same
    limits as the report itself, so the page is no free oracle for links."""
    _enforce_not_me_limit(token, client)
    session_id = _session_id_in(token, max_age=app_settings.NOT_ME_LINK_LIFETIME.total_seconds())
    if session_id is None:
        return None
    return Session.objects.filter(pk=session_id, revoked_at__isnull=True).first()


def _enforce_not_me_limit(token: str, client: ClientInfo) -> None:
    # Counted per session (a verified id only, so nobody can spend another link's budget), or per IP alone.
    enforce_rate_limit(scope=limits.NOT_ME, client=client, account=_session_id_in(token, max_age=None))


def _sessions_to_end_with(session: Session) -> list[Session]:
    """The live sessions a reported one vouched for, which were the same intruder's: every session started
    with the device cookie that login was given (the same Session.device_id), and those opened later from
    the same device label and network (which sent no alert because of it)."""
    network = network_of(session.ip_address)
    same_place = Q(device=session.device, created_at__gte=session.created_at) if network is not None else Q()
    same_cookie = Q(device_id=session.device_id) if session.device_id else Q()
    if not same_place and not same_cookie:
        return []
    candidates = Session.objects.alive().select_related("user").filter(user=session.user).filter(
        same_place | same_cookie)
    return [other for other in candidates
            if (session.device_id and other.device_id == session.device_id)
            or (network is not None and other.device == session.device and other.created_at >= session.created_at
                and network_of(other.ip_address) == network)]


def _distrust_devices(sessions: list[Session]) -> int:
    """The cookies the reported login and the sessions ended with it were given never again vouch for their
    devices (login_throttle): the intruder's second browser, vouched for by place, is no more trusted than
    the first. Rows older than any cookie they could refuse go at the same time, a bounded few per report.
    Returns how many devices are distrusted."""
    device_ids = {session.device_id for session in sessions if session.device_id}
    if not device_ids:
        return 0
    user = sessions[0].user
    DistrustedDevice.objects.filter(user=user, reported_at__lt=timezone.now() - app_settings.DEVICE_COOKIE_AGE).delete()
    for device_id in sorted(device_ids):
        DistrustedDevice.objects.get_or_create(device_id=device_id, defaults={"user": user})
    return len(device_ids)


def report_unrecognised_sign_in(*, token: str, client: ClientInfo) -> Session:
    """The owner says a sign-in was not theirs: end the session the link names and every session its device
    opened, at once, distrust that device, and record it. Raises `invalid_token` for a forged, tampered,
    expired or already used link."""
    _enforce_not_me_limit(token, client)
    session_id = _session_id_in(token, max_age=app_settings.NOT_ME_LINK_LIFETIME.total_seconds())
    if session_id is None:
        raise ServiceError("invalid_token")
    with transaction.atomic(durable=True):
        session = Session.objects.select_related("user").filter(pk=session_id).first()
        # end_session's conditional UPDATE ends a session once: of two uses of the link, even concurrent
        # ones, only the first gets past here; a session already ended (by this link or otherwise) too.
        if session is None or not end_session(session=session, reason=events.NOT_ME_REASON, client=client):
            raise ServiceError("invalid_token")
        vouched = _sessions_to_end_with(session)
        for other in vouched:
            end_session(session=other, reason=events.NOT_ME_REASON, client=client)
        distrusted = _distrust_devices([session, *vouched])
        record_security_event(events.SIGN_IN_REPORTED, user=session.user, client=client, session_id=session.id,
                              device=session.device, session_ip_address=session.ip_address,
                              also_ended=len(vouched), devices_distrusted=distrusted)
    return session


# --- the reuse alert ---------------------------------------------------------------------------------------
@receiver(refresh_token_reuse_detected, dispatch_uid="accounts.notifications.reuse_alert")
def queue_reuse_alert(sender, *, session: Session, client: ClientInfo, **kwargs) -> None:
    """Queue the reuse email in the transaction that ended the session (it commits or rolls back with it)."""
    emails.queue_email(user=session.user, template=REUSE_EMAIL, to=session.user.email, device=session.device,
                       ended_at=session.revoked_at.isoformat())


def reuse_alert_context(user: User, details: dict) -> dict:
    return {"ended_at": datetime.fromisoformat(details["ended_at"])}
