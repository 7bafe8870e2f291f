"""Reads about sessions."""
import uuid

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from .models import Session, alive_session_q


def user_for_live_session(*, user_id: str, session_id: str):
    """The active user owning a live session, or None. One query: the revocation check and the user
    lookup are the same SELECT, so enforcing immediate revocation costs nothing extra per request."""
    try:
        user_uuid, session_uuid = uuid.UUID(str(user_id)), uuid.UUID(str(session_id))
    except (ValueError, TypeError, AttributeError):
        return None
    user_model = get_user_model()
    try:
        return user_model._default_manager.get(
            alive_session_q(prefix="auth_sessions__"),
            pk=user_uuid,
            is_active=True,
            auth_sessions__pk=session_uuid,
        )
    except (user_model.DoesNotExist, ValidationError):
        return None


def live_sessions_for_user(user) -> list[Session]:
    return list(Session.objects.alive().filter(user=user).order_by("-last_used_at"))


def live_session_for_user(user, session_id) -> Session | None:
    try:
        session_uuid = uuid.UUID(str(session_id))
    except (ValueError, TypeError):
        return None
    return Session.objects.alive().filter(user=user, pk=session_uuid).select_related("user").first()
