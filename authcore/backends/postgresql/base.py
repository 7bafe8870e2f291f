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

2. Prepared statements for the hot paths' fixed statements (`prepared_cursor`). Django turns psycopg's
   statement preparation off, so PostgreSQL parses and plans every query anew; for the live-session lookup
   that planning costs more than running it (about 230 against 115 microseconds a query here). A prepared
   cursor binds parameters on the server and prepares each statement once per connection. Only the
   statements the hot paths send through it are prepared; every other query keeps Django's behaviour.
   A transaction-mode connection pooler that cannot keep prepared statements (PgBouncer before 1.21) needs
   `OPTIONS["prepared_statements"] = False` (DATABASE_PREPARED_STATEMENTS=false in this project's
   settings), which makes `prepared_cursor` an ordinary cursor.
"""
import select

from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.utils.asyncio import async_unsafe
from psycopg import errors, pq

NEVER_AUTOMATICALLY = 2**62


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

    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status == pq.TransactionStatus.UNKNOWN:  # libpq lost the server
            return False
        if not hasattr(select, "poll"):  # not on Linux or macOS: ask the server
            return super().is_usable()
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
        # POLLERR, POLLHUP and POLLNVAL are always reported; any event at all means "do not use".
        return not poller.poll(0)

    @async_unsafe
    def prepared_cursor(self):
        """A cursor (Django's wrapper, so query logging and counting see it) whose statements are prepared.
        For fixed statements run on every request; never for SQL built from varying input, since each
        distinct text would be prepared and kept."""
        if not self.settings_dict["OPTIONS"].get("prepared_statements", True):
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = PreparedCursor(self.connection)
            # As Django's create_cursor: the cursor reads timestamps in the connection's time zone.
            tzloader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, pq.Format.TEXT)
            if self.timezone != tzloader.timezone:
                register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)
