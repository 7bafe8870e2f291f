"""Security events: stored in the database and emitted as structured log lines.

Each kind is declared, with what it means, by the app that records it (`declare_event`, in its `events`
module); recording an undeclared kind is a programming error. Never pass passwords, raw tokens or emailed
links in `details`.
"""
from dataclasses import dataclass
from datetime import datetime
import logging
import time
import uuid

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .conf import app_settings
from .models import SecurityEvent
from .requestmeta import ClientInfo

logger = logging.getLogger("security")


@dataclass(frozen=True)
class EventKind:
    kind: str
    description: str
    # False: a log line only (its `event` field), never a database row.
    recorded: bool = True


EVENT_KINDS: dict[str, EventKind] = {}


def declare_event(kind: str, description: str, *, recorded: bool = True) -> str:
    """Declare a security event kind (an OWASP Logging Vocabulary name) and what it means; returns the kind.
    `recorded=False` declares a kind that is only ever a log line, such as an outage, which must not turn into
    a flood of rows. Declaring a kind twice with the same meaning is harmless (module reloads)."""
    spec = EventKind(kind, description, recorded)
    if EVENT_KINDS.setdefault(kind, spec) != spec:
        raise ImproperlyConfigured(f"security event kind {kind!r} is declared twice with different meanings")
    return kind


def record_security_event(kind: str, **fields) -> SecurityEvent:
    """Store a security event and log it; `fields` are security_event's (user, actor, client, session_id, details)."""
    event = security_event(kind, **fields)
    event.save(force_insert=True)
    log_security_event(event)
    return event


def security_event(
    kind: str,
    *,
    user=None,
    actor=None,
    client: ClientInfo | None = None,
    session_id: uuid.UUID | str | None = None,
    **details,
) -> SecurityEvent:
    """The record record_security_event stores, not stored yet: for a flow that stores it in one statement with
    the rows it audits (sessions_app.services.start_session); log_security_event once it is stored."""
    if kind not in EVENT_KINDS or not EVENT_KINDS[kind].recorded:
        raise ValueError(f"{kind!r} is not a declared security event kind that is recorded")
    client = client or ClientInfo()
    return SecurityEvent(
        kind=kind,
        user=user,
        actor=actor,
        actor_ref=str(actor.pk) if actor is not None else "",
        ip_address=client.ip_address,
        user_agent=client.user_agent,
        session_id=session_id,
        details=details,
    )


def log_security_event(event: SecurityEvent) -> None:
    """The structured log line of a stored event."""
    logger.info(
        event.kind,
        extra={
            "event": event.kind,
            "user_id": str(event.user_id) if event.user_id is not None else None,
            "actor_id": str(event.actor_id) if event.actor_id is not None else None,
            "ip_address": event.ip_address,
            "session_id": str(event.session_id) if event.session_id else None,
            **{f"detail_{key}": value for key, value in event.details.items()},
        },
    )


def purge_security_events(*, before: datetime | None = None, batch_size: int | None = None,
                          pause: float = 0.0) -> int:
    """Delete the security events older than `before` (default: AUTHCORE SECURITY_EVENT_RETENTION ago) in
    bounded batches, oldest first; returns how many went. Safe to run while the service serves: each batch
    is one short DELETE by primary key."""
    before = before or timezone.now() - app_settings.SECURITY_EVENT_RETENTION
    batch_size = batch_size or app_settings.SECURITY_EVENT_PURGE_BATCH_SIZE
    deleted = 0
    while True:
        batch = list(SecurityEvent.objects.filter(created_at__lt=before).order_by("created_at")
                     .values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        SecurityEvent.objects.filter(pk__in=batch).delete()
        deleted += len(batch)
        if pause:
            time.sleep(pause)
