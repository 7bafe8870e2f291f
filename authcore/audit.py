"""Security events: stored in the database and emitted as structured log lines.

Never pass passwords, raw tokens or emailed links in `details`.
"""
import logging
import uuid

from .models import SecurityEvent
from .requestmeta import ClientInfo

logger = logging.getLogger("security")


def record_security_event(
    kind: str,
    *,
    user=None,
    actor=None,
    client: ClientInfo | None = None,
    session_id: uuid.UUID | str | None = None,
    **details,
) -> SecurityEvent:
    client = client or ClientInfo()
    event = SecurityEvent.objects.create(
        kind=kind,
        user=user,
        actor=actor,
        ip_address=client.ip_address,
        user_agent=client.user_agent,
        session_id=session_id,
        details=details,
    )
    logger.info(
        kind,
        extra={
            "event": kind,
            "user_id": str(user.pk) if user else None,
            "actor_id": str(actor.pk) if actor else None,
            "ip_address": client.ip_address,
            "session_id": str(session_id) if session_id else None,
            **{f"detail_{key}": value for key, value in details.items()},
        },
    )
    return event
