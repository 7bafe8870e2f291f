"""Reads about sessions."""
import uuid

from .models import Session


def live_session_with_user(*, user_id: str, session_id: str) -> Session | None:
    """The live session `session_id` of user `user_id`, with its user loaded (active or not), or None. One
    query: the revocation check and the user lookup are the same SELECT, so enforcing immediate revocation
    costs nothing extra per request. Whether the user is active is the caller's check: it then knows the
    session of an inactive user, and can end it."""
    try:
        user_uuid, session_uuid = uuid.UUID(str(user_id)), uuid.UUID(str(session_id))
    except (ValueError, TypeError, AttributeError):
        return None
    return Session.objects.alive().select_related("user").filter(pk=session_uuid, user_id=user_uuid).first()


def live_sessions_for_user(user) -> list[Session]:
    return list(Session.objects.alive().filter(user=user).order_by("-last_used_at"))


def live_session_for_user(user, session_id) -> Session | None:
    try:
        session_uuid = uuid.UUID(str(session_id))
    except (ValueError, TypeError):
        return None
    return Session.objects.alive().filter(user=user, pk=session_uuid).select_related("user").first()
