"""The "this wasn't me" link of a new sign-in alert (flows.sign_in_alerts).

Signed with its own salt (django.core.signing), naming the session of that login, valid for
NOT_ME_LINK_LIFETIME, and minted when the email is rendered, so no token waits in the queue. Following it
ends that session at once (its access tokens stop working on their next request, since authentication
checks the session) and records a security event. A report distrusts the device itself, not only that
session: every session started with the device cookie that login was given (Session.device_id) ends too,
and so do the sessions that sign-in vouched for by place; their cookies never again spare an alert or the
login lock (models.DistrustedDevice). It works once: ending the session is what spends it, so a second use,
or a use after the session was ended some other way, is refused with `invalid_token`.
"""
from datetime import datetime
import re
import uuid

from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch
from django.utils import timezone

from authcore.audit import record_security_event
from authcore.errors import ServiceError
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo
from sessions_app.models import Session
from sessions_app.services import end_session, lock_user

from .. import emails, events, limits
from ..conf import app_settings
from ..models import DistrustedDevice, User
from .sign_in_alerts import network_of

# The link's token: django.core.signing's "<payload>:<timestamp>:<signature>", all base64url. The payload is
# a session id (a UUID) and the signature a SHA-256 HMAC, so a real token is about 100 characters; anything
# longer, or of another shape, is refused as malformed before any signature is checked.
# The salt keeps the name of the module the link was first made in, so links already sent stay valid.
NOT_ME_SALT = "accounts.notifications.not_me"

NOT_ME_TOKEN_MAX_LENGTH = 200

NOT_ME_TOKEN_PATTERN = r"^[A-Za-z0-9_-]+:[A-Za-z0-9]+:[A-Za-z0-9_-]+$"


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
    """What the new_sign_in email needs beyond its queued details (emails.register_rendering): the link,
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
        if session is not None:
            lock_user(session.user)  # before any of its sessions: it may end several (services.lock_user)
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


emails.register_rendering("new_sign_in", context=new_sign_in_context)
