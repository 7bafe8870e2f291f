"""Django's PostgreSQL backend (psycopg 3), two round trips cheaper where it matters.

1. A connection health check that sends nothing. With CONN_HEALTH_CHECKS, Django checks a persistent
   connection before its first use in each request by sending `SELECT 1`; on an authenticated request that
   is half the traffic, since the request itself is one indexed query. This backend answers the same
   question locally: a connection that sits idle between requests has nothing to read, so if its socket is
   readable (or hung up) the server has closed it or sent a termination notice (a restart,
   `pg_terminate_backend`, `idle_session_timeout`), and the connection is dropped and reopened before the
   request uses it, as with `SELECT 1`. What the local check cannot see, and `SELECT 1` would only see after
   its own timeout, is a peer that vanished without a word (a network partition): the request's first
   query then fails, and Django closes the errored connection when the request ends, so the next request
   reconnects. A readable socket for any other reason only costs a reconnect: the check errs towards a
   fresh connection, never towards a broken one.

2. Prepared statements for the hot paths' fixed statements (`fetch_one_prepared`, `fetch_all_prepared`). Django
   turns psycopg's statement preparation off, so PostgreSQL parses and plans every query anew; for the
   live-session lookup that planning costs more than running it (about 230 against 115 microseconds a query
   here). Here those
   statements bind their parameters on the server and are prepared once per connection (and again after
   a rollback, when psycopg discards them). Every other query keeps Django's behaviour. A migration that
   changes a column such a statement returns makes PostgreSQL refuse the prepared plan ("cached plan must
   not change result type"): outside a transaction the statement is then run again on a new connection,
   inside one the error stands and the connection is replaced when the request ends. A transaction-mode
   connection pooler that cannot keep prepared statements (PgBouncer before 1.22, which added DEALLOCATE
   ALL to the 1.21 support) needs `OPTIONS["prepared_statements"] = False`
   (DATABASE_PREPARED_STATEMENTS=false in this project's settings), which runs them as ordinary queries.

3. Under Django's connection pool (`OPTIONS["pool"]`, psycopg_pool; for servers that run requests on many
   threads), the same local check on every loan, and after a migration made prepared statements stale, the
   pool's connections replaced (drained) instead of lent again for the next requests to fail on: once per
   migration, not once per request that meets a stale statement.
"""
from datetime import UTC
import select
import threading
import time
import weakref

from django.db import DatabaseError
from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.utils.asyncio import async_unsafe
import psycopg
from psycopg import errors, pq

NEVER_AUTOMATICALLY = 2**62
# psycopg's own loader of timestamptz text (C in psycopg-binary), which Django's connections replace with theirs.
TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(base.TIMESTAMPTZ_OID, pq.Format.TEXT)
# A prepared statement the server no longer accepts: its result changed under it (a migration), or it is
# gone (DEALLOCATE by someone else, a pooler that switched server connections).
STALE_PREPARED_STATEMENT = (errors.FeatureNotSupported, errors.InvalidSqlStatementName)


def idle_connection_is_sound(connection) -> bool:
    """The check that sends nothing: an idle connection has nothing to read, so a readable (or hung-up) socket
    means the server closed it or sent a termination notice."""
    if connection.closed or connection.info.transaction_status == pq.TransactionStatus.UNKNOWN:  # libpq lost it
        return False
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
    # POLLERR, POLLHUP and POLLNVAL are always reported; any event at all means "do not use".
    return not poller.poll(0)


# Per pool: when it was last drained because of a stale statement (time.monotonic()).
_stale_drains: "weakref.WeakKeyDictionary[object, float]" = weakref.WeakKeyDictionary()
_stale_drains_lock = threading.Lock()


def drain_after_stale_statement(pool, *, lent_at: float) -> None:
    """Replace the pool's connections after one of them, lent at `lent_at`, met a stale prepared statement.

    Every connection lent before a drain began was opened before it, and is condemned by it (psycopg_pool closes it
    when it comes back). So when the requests in flight during a migration meet the stale statement one after
    another, only the first drains: a second drain would close the fresh connections opened since, for nothing. A
    connection lent after the drain began drains again (rarely needed: one of the old ones slipped back into the
    pool as the drain ran, say), which errs towards replacing too many, never too few."""
    with _stale_drains_lock:
        if lent_at < _stale_drains.get(pool, float("-inf")):
            return
        began = time.monotonic()  # before psycopg_pool's own mark: all it condemns was lent before this
        pool.drain()
        _stale_drains[pool] = began


class PreparedCursor(base.ServerBindingCursor):
    """Server-side binding, and every statement prepared (parsed and planned once per connection)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        # For query logs and counts (debug cursors only): psycopg keeps no text for a prepared execution,
        # so compose it as Django does for server-side binding.
        if isinstance(cursor, PreparedCursor):
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self):
        params = super().get_connection_params()
        prepared = params.pop("prepared_statements", True)  # ours, not a libpq parameter
        if prepared and params.get("prepare_threshold") is None:
            # psycopg ignores prepare=True while the threshold is None (Django's default). A threshold no
            # statement reaches keeps automatic preparation off and lets PreparedCursor prepare its own.
            params["prepare_threshold"] = NEVER_AUTOMATICALLY
        return params

    prepared_statements_stale = False
    # When the pool lent the current connection (time.monotonic()), for drain_after_stale_statement; unknown, it
    # counts as lent after any drain, so a stale statement on it drains.
    _lent_at = float("inf")

    def init_connection_state(self):
        super().init_connection_state()
        self.prepared_statements_stale = False

    def is_usable(self):
        connection = self.connection
        if connection is None or self.prepared_statements_stale:
            return False
        if not hasattr(select, "poll"):  # not on Linux or macOS: ask the server
            return not connection.closed and super().is_usable()
        return idle_connection_is_sound(connection)

    def get_new_connection(self, conn_params):
        pool = self.pool
        deadline = time.monotonic() + pool.timeout if pool is not None else None
        connection = super().get_new_connection(conn_params)
        self._lent_at = time.monotonic()
        if pool is None or not hasattr(select, "poll"):
            return connection
        # A pooled connection may have been closed by the server while it sat in the pool (a restart,
        # idle_session_timeout). Checked here, locally, on every loan: psycopg_pool's own check (Django's, with
        # CONN_HEALTH_CHECKS) sends an empty query each time, and backs off for a second or more after a failure.
        # The first loan and all the replacements together wait no longer than the pool's timeout, then the
        # request answers 503.
        try:
            while not idle_connection_is_sound(connection):
                connection.pgconn.finish()  # handed back ended, it is discarded and the pool opens a replacement
                pool.putconn(connection)
                connection = None
                connection = pool.getconn(timeout=deadline - time.monotonic())  # PoolTimeout once it has passed
                self._lent_at = time.monotonic()
                if "isolation_level" in self.settings_dict["OPTIONS"]:  # as Django sets it on a loan
                    connection.isolation_level = self.isolation_level
        except BaseException:
            if connection is not None:
                pool.putconn(connection)
            raise
        return connection

    # The cursor of the hot paths' fixed statements, kept for the connection it was made on: making one (with its
    # loaders) for every statement cost about a tenth of the live-session lookup.
    _held_cursor: tuple[object, object, PreparedCursor] | None = None

    @async_unsafe
    def prepared_cursor(self):
        """A cursor (Django's wrapper, so query logging and counting see it) whose statements are prepared.
        For fixed statements run on every request; never for SQL built from varying input, since each
        distinct text would be prepared and kept. Use it through fetch_one_prepared, which keeps it open: the
        wrapper's close() would close it for the connection's next statement too."""
        if not self.settings_dict["OPTIONS"].get("prepared_statements", True):
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            connection = self.connection
            if self.allow_thread_sharing:  # a statement and its fetch are two steps: no cursor shared by threads
                return self._prepare_cursor(self._new_prepared_cursor(connection))
            held = self._held_cursor
            # Kept for its connection and the time zone its loader was chosen for (a test may change USE_TZ or
            # TIME_ZONE under an open connection).
            if held is None or held[0] is not connection or held[1] != self.timezone or held[2].closed:
                held = self._held_cursor = (connection, self.timezone, self._new_prepared_cursor(connection))
            return self._prepare_cursor(held[2])

    def _new_prepared_cursor(self, connection) -> PreparedCursor:
        cursor = PreparedCursor(connection)
        # Timestamps in the connection's time zone, as Django reads them. In Django's default, UTC (USE_TZ and no
        # database TIME_ZONE: this project's), psycopg's own loader gives the very same values, in C; Django's, in
        # Python, was a tenth of the live-session lookup (its four timestamps). Any other zone keeps Django's.
        if self.timezone is UTC and connection.info.parameter_status("TimeZone") == "UTC":
            cursor.adapters.register_loader("timestamptz", TIMESTAMPTZ_LOADER)
        else:
            register_tzloader(self.timezone, cursor)
        return cursor

    def fetch_one_prepared(self, sql: str, params):
        """Run one fixed statement, prepared, and return its first row (or None)."""
        return self._run_prepared(sql, params, lambda cursor: cursor.fetchone())

    def fetch_all_prepared(self, sql: str, params) -> list:
        """Run one fixed statement, prepared, and return its rows."""
        return self._run_prepared(sql, params, lambda cursor: cursor.fetchall())

    def _run_prepared(self, sql: str, params, fetch):
        for attempt in (1, 2):
            try:
                cursor = self.prepared_cursor()
                try:
                    cursor.execute(sql, params)
                    return fetch(cursor)
                finally:
                    if self._held_cursor is None or cursor.cursor is not self._held_cursor[2]:  # not kept
                        cursor.close()
            except DatabaseError as error:
                if not isinstance(error.__cause__, STALE_PREPARED_STATEMENT):
                    raise
                if self.pool is not None:
                    # Every connection of the pool that ran the statement has it stale: replace them all (the idle
                    # ones now, the lent ones, this one too, when they come back) instead of failing on each in turn.
                    drain_after_stale_statement(self.pool, lent_at=self._lent_at)
                if attempt == 2 or self.in_atomic_block or not self.get_autocommit():
                    # A transaction cannot simply go on elsewhere: fail this request, and have Django
                    # replace the connection when it ends.
                    self.prepared_statements_stale = True
                    raise
                # Outside a transaction the failed statement changed nothing: run it again on a new
                # connection, where nothing is prepared yet.
                self.close()
