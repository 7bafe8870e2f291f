"""Reads about sessions."""
import base64
import binascii
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import re
import threading
import uuid

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connections, models, router
from django.db.models import Q
from django.utils import timezone

from authcore.backends import fetch_one_prepared
from authcore.errors import ServiceError

from .conf import app_settings
from .models import SECOND_FACTOR_METHOD, Session, alive_session_q


@dataclass(frozen=True)
class _CompiledLookup:
    sql: str
    slots: tuple[str, ...]  # which value goes to each placeholder: "session", "user" or "now"
    field_names: tuple[str, ...]
    # Per column that needs one: the functions that turn a database value into the field's Python value,
    # and the column expression they take. Called with the calling thread's connection (the backend's own
    # converters stay bound to the compiling connection's operations, which hold no per-thread state).
    converters: tuple[tuple[int, tuple, object], ...]


# Per database alias: the compiled lookup, or None where it cannot be compiled (a user manager that adds
# conditions of its own, say), in which case the ORM runs the same query every time.
_compiled: dict[str, _CompiledLookup | None] = {}
_compile_lock = threading.Lock()


def _prepared(model, field_name: str, value, connection):
    return model._meta.get_field(field_name).get_db_prep_value(value, connection)


def _compile_live_user_lookup(alias: str) -> _CompiledLookup:
    """The ORM query "the user of this live session", compiled once into SQL.

    Built from the same definition of a live session as every other query (alive_session_q), with stand-in
    values whose places in the parameter list tell where each real value goes. Compiling the five-condition
    join costs more than running it (about 0.5 ms of Python per request), and it is the same every time."""
    connection = connections[alias]
    user_model = get_user_model()
    # A stand-in of the user model's primary key type (ours is a UUID; Django's own an integer).
    user_stand_in = uuid.uuid4() if isinstance(user_model._meta.pk, models.UUIDField) else 2_000_003_011
    stand_in = {"session": uuid.uuid4(), "user": user_model._meta.pk.to_python(user_stand_in),
                "now": datetime(2001, 2, 3, 4, 5, 6, 789, tzinfo=UTC)}
    query = (user_model._default_manager.using(alias).order_by()
             .filter(alive_session_q(stand_in["now"], prefix="auth_sessions__"),
                     auth_sessions__pk=stand_in["session"], pk=stand_in["user"]).query)
    compiler = query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    prepared = {
        "session": _prepared(Session, "id", stand_in["session"], connection),
        "user": user_model._meta.pk.get_db_prep_value(stand_in["user"], connection),
        "now": _prepared(Session, "expires_at", stand_in["now"], connection),
    }
    slots = tuple(next((name for name, value in prepared.items() if value == param), None) for param in params)
    if None in slots or set(slots) != {"session", "user", "now"}:
        return None  # a parameter no stand-in explains, or a condition missing: not this query
    columns = [column for column, _, _ in compiler.select]
    converters = tuple((position, tuple(functions), expression)
                       for position, (functions, expression) in compiler.get_converters(columns).items())
    return _CompiledLookup(sql=sql, slots=slots, field_names=tuple(column.target.attname for column in columns),
                           converters=converters)


def user_for_live_session(*, user_id: str, session_id: str):
    """The user of the live session `session_id` of user `user_id` (active or not: the caller checks, and
    can then end the session of an inactive user), or None. One query: the revocation check and the user
    lookup are the same SELECT, so enforcing immediate revocation costs nothing extra per request."""
    user_model = get_user_model()
    try:
        session_uuid, user_pk = uuid.UUID(str(session_id)), user_model._meta.pk.to_python(str(user_id))
    except (ValueError, TypeError, AttributeError, ValidationError):
        return None
    alias = router.db_for_read(user_model)
    connection = connections[alias]
    if alias not in _compiled:
        with _compile_lock:
            if alias not in _compiled:
                _compiled[alias] = _compile_live_user_lookup(alias)
    lookup = _compiled[alias]
    if lookup is None:
        return (user_model._default_manager.using(alias)
                .filter(alive_session_q(prefix="auth_sessions__"), auth_sessions__pk=session_uuid, pk=user_pk)
                .first())
    values = {
        "session": _prepared(Session, "id", session_uuid, connection),
        "user": user_model._meta.pk.get_db_prep_value(user_pk, connection),
        "now": _prepared(Session, "expires_at", timezone.now(), connection),
    }
    # Planned once per connection, not on every request.
    row = fetch_one_prepared(connection, lookup.sql, [values[slot] for slot in lookup.slots])
    if row is None:
        return None
    row = list(row)
    for position, functions, expression in lookup.converters:
        for convert in functions:
            row[position] = convert(row[position], expression, connection)
    return user_model.from_db(alias, lookup.field_names, tuple(row))


# --- a user's live sessions, a page at a time ------------------------------------------------------------------
@dataclass
class ListedSession:
    """A session as a list shows it (the API's SessionSerializer, the account page): the columns a list reads, not
    the model. Loading rows as plain values halves the cost of each (about 7 µs against 14, profiled in process),
    which with the page size keeps the list of a user with a hundred sessions near that of one with three."""

    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip_address: str | None
    user_agent: str
    device: str
    device_name: str
    transport: str
    # Set by the account page for its template (accounts.account_views): not columns.
    is_current: bool = False
    label: str = ""


_LISTED_FIELDS = tuple(field.name for field in dataclasses.fields(ListedSession)
                       if field.default is dataclasses.MISSING)  # the columns


def _listed(rows) -> list[ListedSession]:
    return [ListedSession(*row) for row in rows.values_list(*_LISTED_FIELDS)]


@dataclass(frozen=True)
class SessionPage:
    """One page of a user's live sessions, newest sign-in first, with the cursors of its neighbours."""

    sessions: list[ListedSession]
    older: str | None  # the next page's cursor (older sessions); None on the last page
    newer: str | None  # the previous page's cursor (newer sessions); None on the first page


# A cursor is a position in the order (created_at, id), newest first, and a direction: "o", the sessions after it
# (older), or "n", those before it (newer). Keyset pagination: a page is the sessions strictly past the position,
# so sessions started or ended between two requests neither repeat nor push others off the next page, and a page
# costs one query however many pages came before. Opaque to clients (base64url of "o.<created_at in microseconds
# since the epoch>.<id in hex>"), never signed: it selects among the caller's own live sessions only, so a forged
# one shows nothing another one would not.
_CURSOR = re.compile(r"([on])\.(\d{1,19})\.([0-9a-f]{32})")
_CURSOR_MAX_LENGTH = 80  # ours are at most 72 characters
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
OLDER, NEWER = "o", "n"


def _cursor(direction: str, created_at: datetime, session_id: uuid.UUID) -> str:
    raw = f"{direction}.{(created_at - _EPOCH) // _MICROSECOND}.{session_id.hex}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _position(cursor: str) -> tuple[str, datetime, uuid.UUID]:
    """The direction and position a cursor of ours names; 400 `invalid_cursor` for anything else."""
    try:
        if len(cursor) > _CURSOR_MAX_LENGTH or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        match = _CURSOR.fullmatch(raw)
        if match is None:
            raise ValueError(cursor)
        direction, micros, hex_id = match.groups()
        return direction, _EPOCH + int(micros) * _MICROSECOND, uuid.UUID(hex=hex_id)
    except (ValueError, UnicodeDecodeError, OverflowError, binascii.Error):
        raise ServiceError("invalid_cursor") from None


def live_sessions_page(user, cursor: str | None = None) -> SessionPage:
    """A page of `user`'s live sessions, newest sign-in first (created_at, then id), SESSIONS_APP["SESSIONS_PAGE_SIZE"]
    of them: the first page, or the one `cursor` (a SessionPage's `older` or `newer`) names. One query, whatever
    the number of sessions (two when going back finds nothing newer: the first page then)."""
    size = app_settings.SESSIONS_PAGE_SIZE
    live = Session.objects.alive().filter(user=user)
    if not cursor:
        return _older_page(live, size)
    direction, created_at, session_id = _position(cursor)
    if direction == OLDER:
        return _older_page(live, size, after=(created_at, session_id))
    rows = _listed(live.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=session_id))
                   .order_by("created_at", "id")[:size + 1])
    if not rows:  # nothing newer is left: the top of the list
        return _older_page(live, size)
    sessions = rows[:size][::-1]
    return SessionPage(sessions=sessions, older=_cursor(OLDER, sessions[-1].created_at, sessions[-1].id),
                       newer=_cursor(NEWER, sessions[0].created_at, sessions[0].id) if len(rows) > size else None)


def _older_page(live, size: int, after: tuple[datetime, uuid.UUID] | None = None) -> SessionPage:
    """The `size` newest sessions of `live`, or the `size` newest older than the position `after`."""
    if after is not None:
        created_at, session_id = after
        live = live.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=session_id))
    rows = _listed(live.order_by("-created_at", "-id")[:size + 1])
    sessions = rows[:size]
    older = _cursor(OLDER, sessions[-1].created_at, sessions[-1].id) if len(rows) > size else None
    if after is None:
        newer = None
    else:  # a page that follows another: back to it, or, if this one is empty, to whatever is newer than `after`
        newer = _cursor(NEWER, *((sessions[0].created_at, sessions[0].id) if sessions else after))
    return SessionPage(sessions=sessions, older=older, newer=newer)


def live_session_for_user(user, session_id) -> Session | None:
    try:
        session_uuid = uuid.UUID(str(session_id))
    except (ValueError, TypeError):
        return None
    return Session.objects.alive().filter(user=user, pk=session_uuid).select_related("user").first()


def session_is_recent(session: Session) -> bool:
    """Whether the user proved who they are in `session` (its sign-in, or a reauthentication) within
    SESSIONS_APP["RECENT_AUTHENTICATION_WINDOW"]: a browser's sensitive action then needs no password."""
    return session.authenticated_at >= timezone.now() - app_settings.RECENT_AUTHENTICATION_WINDOW


def proved_recently(*, user, session_id) -> bool:
    """Whether `session_id`, a session of `user`, proved who its user is within RECENT_AUTHENTICATION_WINDOW
    (session_is_recent): the page's check (sessions_app.browser) and the flows' (services) are this one query."""
    session = (Session.objects.filter(pk=session_id, user=user).only("created_at", "reauthenticated_at").first()
               if session_id else None)
    return session is not None and session_is_recent(session)


def reauthenticated_recently(*, user, session_id, with_factor: bool) -> bool:
    """Whether `session_id`, a session of `user`, was reauthenticated (a proof asked for after the sign-in, never the
    sign-in itself) within RECENT_AUTHENTICATION_WINDOW; with a second factor if `with_factor`."""
    since = timezone.now() - app_settings.RECENT_AUTHENTICATION_WINDOW
    proof = {"factor_proved_at__gte": since} if with_factor else {"reauthenticated_at__gte": since}
    return bool(session_id) and Session.objects.filter(pk=session_id, user=user, **proof).exists()


def signed_in_with_second_factor(*, user, session_id) -> bool:
    """Whether `session_id`, a live session of `user`, was opened with a second factor."""
    return bool(session_id) and any(
        SECOND_FACTOR_METHOD in methods.split() for methods in Session.objects.alive().filter(pk=session_id, user=user)
        .values_list("auth_methods", flat=True))
