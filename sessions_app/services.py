"""Session services: start, rotate, end. API views, browser views, the admin and management commands
all go through these functions, so every rule about sessions lives here once.

Transactions: a flow that only ever runs on its own (a refresh) opens a durable transaction; the
functions other flows also call (start a session, end sessions) join their caller's transaction without
a savepoint (`savepoint=False`), or open one when called on their own.
"""
from dataclasses import dataclass
from datetime import datetime
import functools
import hmac
import logging
import time
import uuid

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import CASCADE, DO_NOTHING, Count, F
from django.db.models.functions import Least
from django.db.models.signals import post_delete, pre_delete
from django.utils import timezone

from authcore.audit import log_security_event, record_security_event, security_event
from authcore.backends import fetch_all_prepared, fetch_one_prepared, insert_together
from authcore.errors import ServiceError
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo

from . import events, signals
from .conf import app_settings
from .limits import REFRESH
from .models import RefreshToken, Session, alive_session_sql
from .selectors import proved_recently, reauthenticated_recently
from .tokens import AccessTokenGrant, device_label, hash_refresh_token, mint_access_token, new_refresh_token

Reason = Session.RevokeReason
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedTokens:
    access: str
    refresh: str
    expires_in: int
    session: Session
    dpop_jkt: str = ""  # the key the access token is bound to (DPoP), "" for a bearer token

    @property
    def token_type(self) -> str:
        return "DPoP" if self.dpop_jkt else "Bearer"


def _access_for(session: Session, refresh: str) -> IssuedTokens:
    """The access token for `session`, bound to the session's key if it has one (DPoP)."""
    jkt = session.dpop_jkt
    access = mint_access_token(user_id=session.user_id, session_id=session.id, auth_time=session.authenticated_at,
                               amr=session.amr, dpop_jkt=jkt)
    return IssuedTokens(access=access.token, refresh=refresh, expires_in=access.expires_in, session=session,
                        dpop_jkt=jkt)


def _next_idle_expiry(expires_at: datetime, now: datetime) -> datetime:
    # Activity moves the idle deadline forward but never past the absolute expiry.
    return min(now + app_settings.IDLE_TIMEOUT, expires_at)


def start_session(*, user, client: ClientInfo, transport: str = Session.Transport.BODY,
                  device_name: str = "", device_id: str = "", auth_methods: tuple[str, ...] = ("pwd",),
                  dpop_jkt: str | None = None, user_locked: bool = False,
                  audited_as: tuple[str, dict] | None = None) -> IssuedTokens:
    """A new session (refresh family) for a user who has just proven who they are, its refresh token
    travelling as `transport` says (the edge reads it from the session), named by the client if it wants,
    from the device the caller identified as `device_id` (Session.device_id), the user having proven who they
    are by `auth_methods` (RFC 8176 `amr` values; a password by default), bound to the key the client proved in
    this request (`client.dpop_jkt`, DPoP) unless `dpop_jkt` says which.

    Every login creates a fresh session with a server-chosen id; no client-supplied id is ever used. A user at
    SESSIONS_APP["MAX_SESSIONS_PER_USER"] live sessions loses the oldest ones, in the same transaction
    (_make_room), under the user's row lock: `user_locked` says the caller's transaction already holds it (it has
    updated the row, or called lock_user), which saves a statement.

    `audited_as`: the security event (kind, details) that records this start (a login's), stored with the session
    and its first token in one statement (authcore.backends.insert_together) and logged once stored."""
    refresh = new_refresh_token()
    refresh_hash = hash_refresh_token(refresh)
    session_id = uuid.uuid4()
    with transaction.atomic(savepoint=False):
        cap = app_settings.MAX_SESSIONS_PER_USER
        if cap is not None and not user_locked:
            lock_user(user)
        # The time is read once the lock is held: the sign-ins of one user then commit in the order of their
        # created_at, which the cap ends the oldest by and the list pages by.
        now = timezone.now()
        expires_at = now + app_settings.ABSOLUTE_LIFETIME
        if cap is not None:
            _make_room(user, cap=cap, for_session_id=session_id, client=client, now=now)
        session = Session(
            id=session_id,
            user=user,
            created_at=now,
            last_used_at=now,
            expires_at=expires_at,
            idle_expires_at=_next_idle_expiry(expires_at, now),
            ip_address=client.ip_address,
            user_agent=client.user_agent,
            device=device_label(client.user_agent),
            device_name=device_name,
            device_id=device_id,
            transport=transport,
            auth_methods=" ".join(auth_methods),
            current_token_hash=refresh_hash,
            dpop_jkt=client.dpop_jkt if dpop_jkt is None else dpop_jkt,
        )
        rows = [session, RefreshToken(session=session, token_hash=refresh_hash, created_at=now)]
        if audited_as is not None:
            kind, details = audited_as
            rows.append(security_event(kind, user=user, client=client, session_id=session_id, **details))
        insert_together(connection, *rows)
    if audited_as is not None:
        log_security_event(rows[-1])
    return _access_for(session, refresh)


def lock_user(user) -> None:
    """Lock the user's row until the transaction ends (FOR NO KEY UPDATE; nothing on SQLite, whose writers take
    turns anyway): how the sign-ins of one user take turns (_make_room). A flow that locks one of the user's
    sessions and then starts a session (a password change), or that ends several of them (logout-all, "this wasn't
    me"), takes this first, so that every flow takes the user's row before its sessions' rows, as a login does, and
    none waits for another in a circle (a login ending the oldest session while that session's password change
    waits for the user's row; a login ending several sessions past a lowered cap while logout-all ends them in
    another order)."""
    if connection.features.has_select_for_update:
        type(user)._base_manager.select_for_update(no_key=True).filter(pk=user.pk).exists()


def _make_room(user, *, cap: int, for_session_id: uuid.UUID, client: ClientInfo, now: datetime) -> None:
    """Before `for_session_id` starts, end the user's oldest live sessions (by created_at, then id) so that, with
    it, they have at most `cap` (MAX_SESSIONS_PER_USER); each ended one is audited (events.SESSION_EVICTED).

    Concurrency: two sign-ins of one user, each counting without the session the other has not committed yet,
    would both keep cap - 1 and leave cap + 1. So the caller holds the user's row lock, until its transaction
    ends, and the sign-ins of one user take turns; under READ COMMITTED the statements after the lock see every
    session the sign-ins before committed. The lock is FOR NO KEY UPDATE (lock_user), the one an UPDATE of the row
    takes: a login's transaction already holds it, from its conditional UPDATE of last_login
    (accounts.flows.login), and says so (start_session's `user_locked`). It does not block the rows that merely
    refer to the user (audit records, sessions being refreshed or ended), and conflicts with itself. SQLite has
    no row locks, and needs none: its writers take turns for the whole transaction.

    Cost: one SELECT of what is past the cap, which finds nothing until the cap is reached; it reads the user's
    live sessions, at most the cap of them, through session_user_revoked_idx. Past the cap: one UPDATE, and an
    event per session ended (one, unless the cap was lowered since)."""
    # The newest cap - 1 stay, with the new one cap: everything past them. A fixed statement, prepared once per
    # connection (every login runs it).
    rows = fetch_all_prepared(connection, _past_the_cap_sql(connection.vendor), {
        "user": Session._meta.get_field("user").get_db_prep_value(user.pk, connection),
        "now": connection.ops.adapt_datetimefield_value(now), "skip": cap - 1})
    doomed = [Session._meta.pk.to_python(session_id) for session_id, in rows]
    if not doomed:
        return
    ended = Session.objects.filter(pk__in=doomed, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=Reason.SESSION_LIMIT)
    if ended != len(doomed):  # some ended on their own meanwhile (a logout does not take the user's lock)
        doomed = list(Session.objects.filter(pk__in=doomed, revoked_at=now, revoke_reason=Reason.SESSION_LIMIT)
                      .values_list("pk", flat=True))
    for session_id in doomed:
        record_security_event(events.SESSION_EVICTED, user=user, client=client, session_id=session_id,
                              reason=Reason.SESSION_LIMIT, limit=cap, by_session=str(for_session_id))


@functools.cache
def _past_the_cap_sql(vendor: str) -> str:  # per database vendor: its quoting, its LIMIT
    """The ids of a user's live sessions (models.ALIVE_CONDITIONS) past the newest `skip`, newest first: what the
    ORM's `alive(now).filter(user=user).order_by("-created_at", "-id")[skip:]` asks."""
    quote = connection.ops.quote_name
    no_limit = connection.ops.no_limit_value()  # SQLite takes an OFFSET only after a LIMIT
    return (f"SELECT s.id FROM {quote(Session._meta.db_table)} AS s"
            f" WHERE s.user_id = %(user)s AND {alive_session_sql('s', 'now')}"
            f" ORDER BY s.created_at DESC, s.id DESC{'' if no_limit is None else f' LIMIT {no_limit}'}"
            " OFFSET %(skip)s")


def rotate_refresh_token(*, raw_refresh: str, client: ClientInfo) -> IssuedTokens:
    """Exchange a refresh token for a new pair; the presented token is spent.

    The usual case is a compare-and-set of the session's live token hash, guarded by
    `current_token_hash = <presented>` and the liveness conditions, so that of any number of concurrent
    refreshes with one token exactly one wins (PostgreSQL re-checks the guard of a waiting UPDATE); the
    others fall through to the spent-token path. On PostgreSQL the whole usual case is one statement, so
    one round trip and one commit (_rotate_in_one_statement); elsewhere it is three autocommit statements:
    read the token with its session and user, compare-and-set, record the new token (a crash between the
    last two fails closed: the client must log in again).
    """
    enforce_rate_limit(scope=REFRESH, client=client)
    now = timezone.now()
    presented_hash = hash_refresh_token(raw_refresh)
    if connection.vendor == "postgresql":
        rotated = _rotate_in_one_statement(presented_hash, now, client=client)
        if rotated is not None:
            return rotated
        # Unknown token, spent token, dead session or inactive user: the general path below tells which.
    try:
        token = RefreshToken.objects.select_related("session__user").get(token_hash=presented_hash)
    except RefreshToken.DoesNotExist:
        raise ServiceError("token_not_valid") from None
    session = token.session
    if not session.is_alive(now):
        raise _dead_session_error(session, presented_hash)
    if not session.user.is_active:
        # Deactivated by a path that left the session alive (raw SQL, say): end it now, so that reactivating
        # the account later does not bring this refresh token back.
        end_session(session=session, reason=Reason.USER_DEACTIVATED, client=client)
        raise ServiceError("token_not_valid")

    if session.current_token_hash == presented_hash:
        _require_the_sessions_key(session, client)
        refresh = new_refresh_token()
        refresh_hash = hash_refresh_token(refresh)
        idle_expires_at = _next_idle_expiry(session.expires_at, now)
        won = (
            Session.objects.alive(now)
            .filter(pk=session.pk, current_token_hash=presented_hash)
            .update(current_token_hash=refresh_hash, previous_token_hash=presented_hash, rotated_at=now,
                    last_used_at=now, idle_expires_at=idle_expires_at,
                    dpop_jkt=session.dpop_jkt or client.dpop_jkt)
        )
        if won:
            session.dpop_jkt = session.dpop_jkt or client.dpop_jkt
            RefreshToken.objects.create(session=session, token_hash=refresh_hash, parent=token, created_at=now)
            session.current_token_hash, session.previous_token_hash = refresh_hash, presented_hash
            session.rotated_at, session.last_used_at, session.idle_expires_at = now, now, idle_expires_at
            return _access_for(session, refresh)
        # Lost the race to a concurrent refresh (or the session just died): the token is spent now.
    return _refresh_with_spent_token(token, presented_hash, client=client, now=now)


@functools.cache
def _one_statement_rotation_sql() -> str:
    """The compare-and-set and the new token's history row in one PostgreSQL statement: find the presented
    token, rotate its session if that token is the live one, the session alive (models.ALIVE_CONDITIONS,
    as SQL) and its user active, insert the child token, and return the session."""
    user_model = get_user_model()
    quote = connection.ops.quote_name
    session_table, token_table = quote(Session._meta.db_table), quote(RefreshToken._meta.db_table)
    user_table, user_pk = quote(user_model._meta.db_table), quote(user_model._meta.pk.column)
    is_active = quote(user_model._meta.get_field("is_active").column)
    sql = f"""
        WITH presented AS (
            SELECT id AS token_id, session_id FROM {token_table} WHERE token_hash = %(presented)s
        ), rotated AS (
            UPDATE {session_table} AS s
               SET current_token_hash = %(new)s, previous_token_hash = %(presented)s, rotated_at = %(now)s,
                   last_used_at = %(now)s, idle_expires_at = LEAST(%(idle_deadline)s, s.expires_at),
                   dpop_jkt = CASE WHEN s.dpop_jkt = '' THEN %(jkt)s ELSE s.dpop_jkt END
              FROM presented
             WHERE s.id = presented.session_id AND s.current_token_hash = %(presented)s
               AND (s.dpop_jkt = '' OR s.dpop_jkt = %(jkt)s)
               AND {alive_session_sql("s", "now")}
               AND EXISTS (SELECT 1 FROM {user_table} AS u WHERE u.{user_pk} = s.user_id AND u.{is_active})
         RETURNING s.id, s.user_id, s.expires_at, s.transport, s.created_at, s.reauthenticated_at, s.auth_methods,
                   s.dpop_jkt, presented.token_id
        ), recorded AS (
            INSERT INTO {token_table} (session_id, token_hash, parent_id, created_at)
            SELECT id, %(new)s, token_id, %(now)s FROM rotated
            RETURNING session_id
        )
        SELECT rotated.id, rotated.user_id, rotated.expires_at, rotated.transport, rotated.created_at,
               rotated.reauthenticated_at, rotated.auth_methods, rotated.dpop_jkt
          FROM rotated JOIN recorded ON recorded.session_id = rotated.id"""
    return " ".join(sql.split())  # one line in logs and traces


def _rotate_in_one_statement(presented_hash: str, now: datetime, *, client: ClientInfo) -> IssuedTokens | None:
    """The usual refresh on PostgreSQL; None when the presented token is not the live token of a live
    session of an active user, or the session is bound to a key the client did not prove (the caller's general
    path then answers). A bearer session refreshed with a proof is bound to its key from then on (RFC 9449 §5: a
    public client's refresh token is bound), whoever refreshes first."""
    refresh = new_refresh_token()
    # Planned once per connection, not on every refresh.
    row = fetch_one_prepared(connection, _one_statement_rotation_sql(), {
        "presented": presented_hash, "new": hash_refresh_token(refresh), "now": now,
        "idle_deadline": now + app_settings.IDLE_TIMEOUT, "jkt": client.dpop_jkt,
    })
    if row is None:
        return None
    session_id, user_id, expires_at, transport, created_at, reauthenticated_at, auth_methods, dpop_jkt = row
    # The ids and how the user signed in go into the access token, the expiry and transport to the edge (the
    # cookie's lifetime); the session row itself is not read again.
    return _access_for(Session(id=session_id, user_id=user_id, expires_at=expires_at, transport=transport,
                               created_at=created_at, reauthenticated_at=reauthenticated_at,
                               auth_methods=auth_methods, dpop_jkt=dpop_jkt), refresh)


def _refresh_with_spent_token(token: RefreshToken, presented_hash: str, *, client: ClientInfo,
                              now: datetime) -> IssuedTokens:
    """A token that is no longer the family's live one: the grace outcome, or the family ends."""
    with transaction.atomic(durable=True):
        # of=("self",): lock the session row only, not the user row the join also reads.
        session = Session.objects.select_for_update(of=("self",)).select_related("user").filter(
            pk=token.session_id).first()
        if session is None:  # deleted meanwhile (its account was deleted): the token is simply dead
            raise ServiceError("token_not_valid")
        if not session.is_alive(now):
            raise _dead_session_error(session, presented_hash)
        if _within_reuse_grace(session, presented_hash, now):
            _require_the_sessions_key(session, client)
            # Grace outcome: the immediate parent gets a new child that replaces the unused one, so the
            # family still has exactly one live token. The window is not extended by this.
            refresh = new_refresh_token()
            refresh_hash = hash_refresh_token(refresh)
            session.current_token_hash = refresh_hash
            session.last_used_at = now
            session.idle_expires_at = _next_idle_expiry(session.expires_at, now)
            session.dpop_jkt = session.dpop_jkt or client.dpop_jkt
            session.save(update_fields=["current_token_hash", "last_used_at", "idle_expires_at", "dpop_jkt"])
            RefreshToken.objects.create(session=session, token_hash=refresh_hash, parent=token, created_at=now)
            return _access_for(session, refresh)
        # A spent token came back: a thief or the legitimate client holds a copy, and we cannot tell
        # which, so the whole family ends (RFC 9700 §4.14.2), with its audit record in the same
        # transaction; both are committed before the error is raised.
        _revoke(session, reason=Reason.TOKEN_REUSED, now=now)
        record_security_event(
            events.TOKEN_REUSE, user=session.user, client=client, session_id=session.id, token_id=token.pk
        )
        _announce_reuse(session, client)
    raise ServiceError("refresh_token_reused")


def _require_the_sessions_key(session: Session, client: ClientInfo) -> None:
    """A session bound to a key (DPoP) refreshes only with a proof by that key: 400 `invalid_dpop_proof` otherwise,
    and the token is not spent (the client may try again with its key). Only a live token gets this far: a spent one
    presented again ends the family whoever presents it."""
    if session.dpop_jkt and not hmac.compare_digest(session.dpop_jkt, client.dpop_jkt):
        raise ServiceError("invalid_dpop_proof", data={"reason": "key" if client.dpop_jkt else "missing"})


def _announce_reuse(session: Session, client: ClientInfo) -> None:
    """Tell receivers (accounts emails the user) in the transaction that ended the family, so what they
    queue commits with it. In a savepoint of its own: a receiver that fails is logged and rolls back what
    the receivers wrote; the revocation and its audit record stand whatever a receiver does."""
    try:
        with transaction.atomic():
            signals.refresh_token_reuse_detected.send(sender=Session, session=session, client=client)
    except Exception:
        if transaction.get_rollback():
            # The savepoint could not be rolled back (the connection was lost): the whole transaction, the
            # revocation with it, will roll back when it ends. Swallowing this would answer "reused" for a
            # family that stays alive; raised, the client gets a 503 and may replay again.
            raise
        logger.exception("A receiver of refresh_token_reuse_detected failed for session %s", session.id)


def _dead_session_error(session: Session, presented_hash: str) -> ServiceError:
    """The error for a token of a session that has ended. A spent token of a family that was ended for reuse
    is part of the same replay (typically the other requests of a concurrent burst, which queue on the row
    lock while the first replay ends the family): they get `refresh_token_reused` too, not a bare
    `token_not_valid`, so every client involved learns why. The event was recorded once, when it ended."""
    if session.revoke_reason == Reason.TOKEN_REUSED and session.current_token_hash != presented_hash:
        return ServiceError("refresh_token_reused")
    return ServiceError("token_not_valid")


def _within_reuse_grace(session: Session, presented_hash: str, now: datetime) -> bool:
    # Only the immediate parent of the live token qualifies, and only shortly after it was spent; an
    # older ancestor always ends the family (a wider grace is how stolen tokens get exchanged).
    grace = app_settings.REFRESH_REUSE_GRACE
    return bool(
        grace
        and session.previous_token_hash == presented_hash
        and session.rotated_at is not None
        and now - session.rotated_at <= grace
    )


def _revoke(session: Session, *, reason: str, now: datetime) -> bool:
    updated = Session.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=reason
    )
    session.revoked_at, session.revoke_reason = now, reason
    return bool(updated)


def end_session(*, session: Session, reason: str, actor=None, client: ClientInfo | None = None) -> bool:
    """Revoke one session. Its refresh token and its access tokens stop working on their next use,
    because authentication checks the session on every request. Returns False if it was already ended."""
    with transaction.atomic(savepoint=False):
        ended = _revoke(session, reason=reason, now=timezone.now())
        if ended:
            record_security_event(
                events.SESSION_REVOKED, user=session.user, actor=actor, client=client,
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
    """Revoke every live session of a user (except `keep_session_id`); returns how many were ended. The user's row
    first (lock_user), as a login does before it ends sessions past the cap: the two take turns, instead of each
    locking some of the sessions the other wants."""
    with transaction.atomic(savepoint=False):
        lock_user(user)
        sessions = Session.objects.alive().filter(user=user)
        if keep_session_id is not None:
            sessions = sessions.exclude(pk=keep_session_id)
        count = sessions.update(revoked_at=timezone.now(), revoke_reason=reason)
        if count:
            record_security_event(
                events.SESSION_REVOKED, user=user, actor=actor, client=client, reason=reason, count=count
            )
    return count


def end_sessions_of_users(*, users, reason: str, actor=None, client: ClientInfo | None = None) -> int:
    """Revoke every live session of a set of users, given as a user queryset (a bulk deactivation): one
    UPDATE whatever the number of users, and one audit record per user who had sessions. Returns the count."""
    with transaction.atomic(savepoint=False):
        # The users' rows first, in one order (see end_user_sessions).
        if connection.features.has_select_for_update:
            list(users.model._base_manager.db_manager(users.db).select_for_update(no_key=True)
                 .filter(pk__in=users.values("pk")).order_by("pk").values_list("pk", flat=True))
        now = timezone.now()  # after the wait: a session a login committed meanwhile ends after it began
        sessions = Session.objects.alive(now).filter(user__in=users.values("pk"))
        count = sessions.update(revoked_at=now, revoke_reason=reason)
        if count:
            # The revocation time tells exactly which sessions this UPDATE ended, for the per-user counts.
            ended_by_user = list(
                Session.objects.filter(user__in=users.values("pk"), revoked_at=now, revoke_reason=reason)
                .order_by().values("user").annotate(count=Count("pk")).values_list("user", "count")
            )
            owners = get_user_model()._base_manager.in_bulk([user_id for user_id, _ in ended_by_user])
            for user_id, ended in ended_by_user:
                record_security_event(events.SESSION_REVOKED, user=owners[user_id], actor=actor,
                                      client=client, reason=reason, count=ended)
    return count


def end_sessions(*, sessions, reason: str, actor=None, client: ClientInfo | None = None) -> int:
    """Revoke a set of sessions (an admin selection); returns how many were still alive and are now ended."""
    ended = 0
    for session in sessions.select_related("user"):
        ended += end_session(session=session, reason=reason, actor=actor, client=client)
    return ended


def touch_session(session_id) -> bool:
    """A browser sign-in was used (sessions_app/browser.py): its last use and idle deadline move forward, as a
    refresh moves an API session's. Conditional on the session being alive; returns whether it was."""
    now = timezone.now()
    return bool(Session.objects.alive(now).filter(pk=session_id).update(
        last_used_at=now, idle_expires_at=Least(now + app_settings.IDLE_TIMEOUT, F("expires_at"))))


def require_recent_authentication(*, user, session_id) -> None:
    """A sensitive action without a password: the user's session `session_id` must have proven who its user is
    within RECENT_AUTHENTICATION_WINDOW (signed in, or confirmed the password, since), or 403
    `reauthentication_required`. The flows call this themselves, so a page that forgot to ask cannot act."""
    if not proved_recently(user=user, session_id=session_id):
        raise ServiceError("reauthentication_required")


def require_reauthentication(*, user, session_id, with_factor: bool) -> None:
    """Stricter than require_recent_authentication: a proof asked for after the sign-in, within
    RECENT_AUTHENTICATION_WINDOW (the sign-in itself does not count, so whoever holds a session's tokens, even a
    fresh one, must still prove who they are); by a second factor if `with_factor`. Else 403
    `reauthentication_required`. For changes to the ways of signing in (mfa.flows)."""
    if not reauthenticated_recently(user=user, session_id=session_id, with_factor=with_factor):
        raise ServiceError("reauthentication_required")


def fresh_access_token(*, user, session_id) -> AccessTokenGrant:
    """A new access token for the live session `session_id` of `user`, carrying its sign-in methods and time as
    they are now (after a reauthentication: the new `auth_time`). 401 `token_not_valid` if it has ended."""
    session = Session.objects.alive().filter(pk=session_id, user=user).first()
    if session is None:
        raise ServiceError("token_not_valid")
    return mint_access_token(user_id=session.user_id, session_id=session.id, auth_time=session.authenticated_at,
                             amr=session.amr, dpop_jkt=session.dpop_jkt)


def record_reauthentication(session_id, *, with_factor: bool = False) -> None:
    """The user of `session_id` just proved who they are again (accounts.flows.reauthentication), with a second
    factor if `with_factor`."""
    now = timezone.now()
    Session.objects.filter(pk=session_id).update(reauthenticated_at=now,
                                                 **({"factor_proved_at": now} if with_factor else {}))


def purge_dead_sessions(*, batch_size: int | None = None, pause: float | None = None) -> int:
    """Delete revoked and expired sessions (and their tokens) in bounded batches; returns the count.
    `pause` (seconds) between batches leaves the database to the live traffic while a large history goes.

    Security events keep the session id as a plain value, so the audit trail survives the purge."""
    batch_size = batch_size or app_settings.PURGE_BATCH_SIZE
    pause = app_settings.PURGE_PAUSE if pause is None else pause
    now = timezone.now()
    delete_batch = _delete_dead_batch_in_one_statement if _purge_in_one_statement() else _delete_dead_batch
    deleted = 0
    while True:
        count = delete_batch(now, batch_size)
        deleted += count
        if count < batch_size:  # the last batch (what is left over, held by another transaction, waits for the next)
            return deleted
        if pause:
            time.sleep(pause)


def _delete_dead_batch(now: datetime, batch_size: int) -> int:
    batch = list(Session.objects.dead(now).order_by().values_list("pk", flat=True)[:batch_size])
    Session.objects.filter(pk__in=batch).delete()  # cascades to the family's refresh tokens
    return len(batch)


# A batch as one statement on PostgreSQL: the dead sessions, their refresh tokens and the sessions themselves go
# in one round trip, with no row loaded into Python. The ORM's delete reads every session of the batch into a
# model first (to cascade), which made the purge's own process a second load on the machine beside the database's.
# Rows another transaction holds are skipped, never waited for: the next purge takes them.
_PURGE_BATCH_SQL = """
WITH doomed AS (
    SELECT s.id FROM {sessions} s WHERE NOT ({alive}) LIMIT %(batch_size)s FOR UPDATE SKIP LOCKED
), spent AS (
    DELETE FROM {tokens} WHERE session_id IN (SELECT id FROM doomed)
)
DELETE FROM {sessions} WHERE id IN (SELECT id FROM doomed)"""


def _purge_in_one_statement() -> bool:
    """PostgreSQL, and nothing but the refresh tokens to cascade to (a host project's model that points at a
    session, or a receiver of its deletion, gets the ORM's delete, which honours them)."""
    cascades = [(rel.related_model, rel.on_delete) for rel in Session._meta.related_objects]
    return (connection.vendor == "postgresql"
            and cascades == [(RefreshToken, CASCADE)]
            and all(rel.on_delete is DO_NOTHING for rel in RefreshToken._meta.related_objects)
            and not any(signal.has_listeners(model) for signal in (pre_delete, post_delete)
                        for model in (Session, RefreshToken)))


def _delete_dead_batch_in_one_statement(now: datetime, batch_size: int, attempts: int = 3) -> int:
    sql = _PURGE_BATCH_SQL.format(sessions=connection.ops.quote_name(Session._meta.db_table),
                                  tokens=connection.ops.quote_name(RefreshToken._meta.db_table),
                                  alive=alive_session_sql("s", "now"))
    for attempt in range(attempts):
        try:
            # Its own transaction (a savepoint inside the caller's, if any): a failed batch undoes only itself.
            with transaction.atomic(), connection.cursor() as cursor:
                # The commit need not wait for its WAL to reach the disk: a batch a crash loses is deleted by the next
                # purge, and the refreshes' commits, which must wait, find less in front of them.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
                cursor.execute(sql, {"batch_size": batch_size, "now": now})
                return cursor.rowcount
        except IntegrityError:
            # A refresh that committed a token for a session of the batch after the statement began (the session
            # expiring in between): the statement's own view of the tokens missed it. The next try sees it.
            if attempt == attempts - 1:
                raise
    return 0
