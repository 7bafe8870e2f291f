"""Reads about sessions."""
import uuid

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import Session


def user_for_live_session(*, user_id: str, session_id: str):
    """The active user owning a live session, or None. One query: the revocation check and the user
    lookup are the same SELECT, so enforcing immediate revocation costs nothing extra per request."""
    try:
        user_uuid, session_uuid = uuid.UUID(str(user_id)), uuid.UUID(str(session_id))
    except (ValueError, TypeError, AttributeError):
        return None
    now = timezone.now()
    user_model = get_user_model()
    try:
        return user_model._default_manager.get(
            pk=user_uuid,
            is_active=True,
            auth_sessions__pk=session_uuid,
            auth_sessions__revoked_at__isnull=True,
            auth_sessions__expires_at__gt=now,
            auth_sessions__idle_expires_at__gt=now,
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
