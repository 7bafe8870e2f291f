"""Export my data: what the service holds about one user, as one document the user can download.

What is exported:
- the profile: the user row, without the password hash;
- the sessions still on record, alive and ended, newest first: when and from where each was used, and
  how it ended; never a token hash;
- the security events about the user, newest first: what happened, when and from where; for an
  operator's action only the fact that an operator acted, never who.

Why it is bounded: an old account can have thousands of sessions and events, and an export must not cost
more the longer someone has used the service. Each list is cut at a cap (ACCOUNTS EXPORT_MAX_SESSIONS and
EXPORT_MAX_EVENTS) and says when it was cut. Each list is one query with LIMIT cap + 1 (the extra row only
tells whether there were more), so an export runs the same few queries and reads at most a known number of
rows whatever the history; the rate limit (accounts.limits.EXPORT_DATA) bounds how often it can run.
"""
from django.db.models import QuerySet
from django.utils import timezone

from authcore.audit import record_security_event
from authcore.models import SecurityEvent
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo
from sessions_app.models import Session

from .. import events, limits
from ..conf import app_settings
from ..models import User

PROFILE_FIELDS = ("id", "email", "name", "date_joined", "last_login", "email_verified_at", "password_changed_at",
                  "is_active", "is_staff", "pending_email", "pending_email_requested_at", "language")
# Named one by one, so a column added to the tables later (a token hash, say) is never exported by accident.
SESSION_FIELDS = ("id", "created_at", "last_used_at", "expires_at", "idle_expires_at", "revoked_at",
                  "revoke_reason", "ip_address", "user_agent", "device", "device_name", "transport")
EVENT_FIELDS = ("kind", "created_at", "ip_address", "user_agent", "session_id", "details")


def export_account_data(*, user: User, session_id, client: ClientInfo) -> dict:
    """Everything the service holds about `user`. `session_id` is the session making the request (marked
    `current` among the sessions). Each list is {"items", "truncated", "limit"}."""
    enforce_rate_limit(scope=limits.EXPORT_DATA, client=client, account=str(user.pk))
    sessions = _newest_first(
        Session.objects.filter(user=user).values(*SESSION_FIELDS), limit=app_settings.EXPORT_MAX_SESSIONS)
    for session in sessions["items"]:
        session["current"] = session_id is not None and str(session["id"]) == str(session_id)
    security_events = _newest_first(
        SecurityEvent.objects.filter(user=user).values(*EVENT_FIELDS, "actor_ref"),
        limit=app_settings.EXPORT_MAX_EVENTS)
    for event in security_events["items"]:
        # Whether someone else acted (an operator in the admin), but not who: that is the operator's data.
        # The plain id, which outlives the operator's account.
        actor = event.pop("actor_ref")
        event["by_operator"] = bool(actor) and actor != str(user.pk)
        if event["by_operator"]:
            # The request was the operator's: its address and browser are the operator's data too.
            event["ip_address"], event["user_agent"] = None, ""
    # Recorded after the reads, so the export shows the account as it was when asked for.
    record_security_event(events.DATA_EXPORTED, user=user, client=client, session_id=session_id,
                          sessions=len(sessions["items"]), security_events=len(security_events["items"]))
    return {
        "exported_at": timezone.now(),
        "profile": {field: getattr(user, field) for field in PROFILE_FIELDS},
        "sessions": sessions,
        "security_events": security_events,
    }


def _newest_first(rows: QuerySet, *, limit: int) -> dict:
    """At most `limit` of `rows`, newest first, and whether there were more: one query (LIMIT limit + 1)."""
    fetched = list(rows.order_by("-created_at", "-pk")[:limit + 1])
    return {"items": fetched[:limit], "truncated": len(fetched) > limit, "limit": limit}
