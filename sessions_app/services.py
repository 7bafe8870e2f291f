"""Session services: start, rotate, end. API views, browser views, the admin and management commands
all go through these functions, so every rule about sessions lives here once.
"""
from dataclasses import dataclass
from datetime import datetime
import uuid

from django.db import transaction
from django.utils import timezone

from .audit import record_security_event
from .conf import app_settings
from .errors import ServiceError
from .models import RefreshToken, SecurityEvent, Session
from .requestmeta import ClientInfo
from .tokens import device_label, hash_refresh_token, mint_access_token, new_refresh_token

Reason = Session.RevokeReason


@dataclass(frozen=True)
class IssuedTokens:
    access: str
    refresh: str
    expires_in: int
    session: Session

    token_type = "Bearer"


def _issue(session: Session, *, parent: RefreshToken | None, now: datetime) -> IssuedTokens:
    raw = new_refresh_token()
    RefreshToken.objects.create(session=session, token_hash=hash_refresh_token(raw), parent=parent, created_at=now)
    access = mint_access_token(user_id=session.user_id, session_id=session.id)
    return IssuedTokens(access=access.token, refresh=raw, expires_in=access.expires_in, session=session)


def _next_idle_expiry(session: Session, now: datetime) -> datetime:
    # Activity moves the idle deadline forward but never past the absolute expiry.
    return min(now + app_settings.IDLE_TIMEOUT, session.expires_at)


def start_session(*, user, client: ClientInfo) -> IssuedTokens:
    """A new session (refresh family) for a user who has just proven who they are.

    Every login creates a fresh session with a server-chosen id; no client-supplied id is ever used."""
    now = timezone.now()
    expires_at = now + app_settings.ABSOLUTE_LIFETIME
    with transaction.atomic():
        session = Session.objects.create(
            user=user,
            created_at=now,
            last_used_at=now,
            expires_at=expires_at,
            idle_expires_at=min(now + app_settings.IDLE_TIMEOUT, expires_at),
            ip_address=client.ip_address,
            user_agent=client.user_agent,
            device=device_label(client.user_agent),
        )
        return _issue(session, parent=None, now=now)


def rotate_refresh_token(*, raw_refresh: str, client: ClientInfo) -> IssuedTokens:
    """Exchange a refresh token for a new pair. The presented token is spent.

    Happy path: 4 statements (SELECT ... FOR UPDATE, UPDATE the old token, INSERT the new one, UPDATE the
    session). The session row lock serialises every rotation of one family, so concurrent requests with the
    same token see each other's work: one wins, the rest are replays.
    """
    now = timezone.now()
    with transaction.atomic():
        token = (
            RefreshToken.objects.select_related("session", "session__user")
            .select_for_update(of=("session",))
            .filter(token_hash=hash_refresh_token(raw_refresh))
            .first()
        )
        if token is None:
            raise ServiceError("token_not_valid")
        session = token.session
        if not session.is_alive(now) or not session.user.is_active:
            raise ServiceError("token_not_valid")

        if token.rotated_at is None:
            token.rotated_at = now
            token.save(update_fields=["rotated_at"])
            issued = _issue(session, parent=token, now=now)
            session.last_used_at = now
            session.idle_expires_at = _next_idle_expiry(session, now)
            session.save(update_fields=["last_used_at", "idle_expires_at"])
            return issued

        if _within_reuse_grace(token, now):
            return _reissue_from_parent(token, session, now)

        # A spent token came back: either a thief or the legitimate client holds a copy. We cannot tell
        # which, so the whole family dies (RFC 9700 §4.14.2). Committed before the error is raised.
        _revoke(session, reason=Reason.TOKEN_REUSED, now=now)
    record_security_event(
        SecurityEvent.Kind.TOKEN_REUSE, user=session.user, client=client, session_id=session.id,
        token_id=token.pk,
    )
    raise ServiceError("refresh_token_reused")


def _within_reuse_grace(token: RefreshToken, now: datetime) -> bool:
    grace = app_settings.REFRESH_REUSE_GRACE
    if not grace or now - token.rotated_at > grace:
        return False
    # Only the immediate parent of the live token qualifies: if its child was itself already rotated,
    # the family has moved on and this is a replay of an older ancestor.
    return token.children.filter(rotated_at__isnull=True).exists()


def _reissue_from_parent(parent: RefreshToken, session: Session, now: datetime) -> IssuedTokens:
    """Grace outcome: the unused child is retired and the parent gets a new child, so the family still
    has exactly one live refresh token (never two branches)."""
    parent.children.filter(rotated_at__isnull=True).update(rotated_at=now)
    issued = _issue(session, parent=parent, now=now)
    session.last_used_at = now
    session.idle_expires_at = _next_idle_expiry(session, now)
    session.save(update_fields=["last_used_at", "idle_expires_at"])
    return issued


def reissue_tokens_for_session(*, session: Session) -> IssuedTokens:
    """A new pair for an existing live session (after a password change); the current refresh token is
    retired, so only the new one works."""
    now = timezone.now()
    with transaction.atomic():
        current = session.refresh_tokens.filter(rotated_at__isnull=True).order_by("-created_at").first()
        session.refresh_tokens.filter(rotated_at__isnull=True).update(rotated_at=now)
        issued = _issue(session, parent=current, now=now)
        session.last_used_at = now
        session.idle_expires_at = _next_idle_expiry(session, now)
        session.save(update_fields=["last_used_at", "idle_expires_at"])
        return issued


def _revoke(session: Session, *, reason: str, now: datetime) -> bool:
    updated = Session.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=reason
    )
    session.revoked_at, session.revoke_reason = now, reason
    return bool(updated)


def end_session(*, session: Session, reason: str, actor=None, client: ClientInfo | None = None) -> bool:
    """Revoke one session. Its refresh token and its access tokens stop working on their next use,
    because authentication checks the session on every request. Returns False if it was already ended."""
    with transaction.atomic():
        ended = _revoke(session, reason=reason, now=timezone.now())
        if ended:
            record_security_event(
                SecurityEvent.Kind.SESSION_REVOKED, user=session.user, actor=actor, client=client,
                session_id=session.id, reason=reason,
            )
    return ended


def end_session_by_refresh_token(*, raw_refresh: str, client: ClientInfo) -> bool:
    """Logout with a refresh token. Like RFC 7009, an unknown or already dead token is not an error:
    the caller wanted the session gone, and it is."""
    token = (
        RefreshToken.objects.select_related("session", "session__user")
        .filter(token_hash=hash_refresh_token(raw_refresh))
        .first()
    )
    if token is None:
        return False
    return end_session(session=token.session, reason=Reason.LOGOUT, client=client)


def end_user_sessions(
    *, user, reason: str, actor=None, client: ClientInfo | None = None, keep_session_id: uuid.UUID | None = None
) -> int:
    """Revoke every live session of a user (except `keep_session_id`); returns how many were ended."""
    with transaction.atomic():
        sessions = Session.objects.alive().filter(user=user)
        if keep_session_id is not None:
            sessions = sessions.exclude(pk=keep_session_id)
        count = sessions.update(revoked_at=timezone.now(), revoke_reason=reason)
        if count:
            record_security_event(
                SecurityEvent.Kind.SESSION_REVOKED, user=user, actor=actor, client=client, reason=reason, count=count
            )
    return count


def end_sessions(*, sessions, reason: str, actor=None, client: ClientInfo | None = None) -> int:
    """Revoke a set of sessions (an admin selection); returns how many were still alive and are now ended."""
    ended = 0
    for session in sessions.select_related("user"):
        ended += end_session(session=session, reason=reason, actor=actor, client=client)
    return ended


def purge_dead_sessions(*, batch_size: int | None = None) -> int:
    """Delete revoked and expired sessions (and their tokens) in bounded batches; returns the count.

    Security events keep the session id as a plain value, so the audit trail survives the purge."""
    batch_size = batch_size or app_settings.PURGE_BATCH_SIZE
    now = timezone.now()
    deleted = 0
    while True:
        batch = list(Session.objects.dead(now).order_by().values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        Session.objects.filter(pk__in=batch).delete()  # cascades to the family's refresh tokens
        deleted += len(batch)
