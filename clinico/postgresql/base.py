"""The database backend: django-tenants' schema-aware PostgreSQL, safe behind a pooler.

**The schema is set per transaction, never assumed per session** (the default, SEARCH_PATH
"transaction"). Behind PgBouncer in transaction mode two consecutive transactions of one Django
connection may run on two different server connections, so a session-level `SET search_path`
issued by one request can be missing, or another clinic's, in the next. Here every transaction
carries its own `SET LOCAL search_path`, sent in the same round trip as its first statement
(`SET LOCAL ...; <statement>`, one simple-protocol message that PostgreSQL runs as one
transaction and PgBouncer routes to one server connection):

- in autocommit (outside `atomic`), where each statement is its own transaction, every
  statement is prefixed;
- inside a transaction, its first statement is, and again after the clinic changes
  (`set_tenant`) or a ROLLBACK TO SAVEPOINT that may have undone the SET LOCAL.

`SET LOCAL` ends with its transaction, so nothing leaks into the server connection another
client gets next, and no extra round trip is paid. Transaction control and session commands go
as they are. A server-side cursor's DECLARE (`.iterator()`) and statements PostgreSQL refuses
inside a transaction block (VACUUM, `CREATE INDEX CONCURRENTLY`, ...) are preceded by a
session-level `SET search_path` of their own: direct connections only (DATABASE_POOLER=
transaction disables server-side cursors; run migrations on a direct connection).

SEARCH_PATH "session" (`DATABASE_SEARCH_PATH=session`) is django-tenants' way, for direct
connections or session pooling only: one session-level `SET search_path` after `set_tenant()`,
skipped when the session already has that very path (the memory dropped on ROLLBACK, ROLLBACK TO
SAVEPOINT and reconnect). It saves nothing measurable (see README, Tenancy) and is kept for
comparison.

The health check: with CONN_HEALTH_CHECKS, Django pings a connection (`SELECT 1`) before its
first query of every request or task. A connection whose last statement succeeded less than
RECENTLY_USED_SECONDS ago is not pinged; an idle one (the kind a database restart or failover
leaves broken overnight) still is, and a statement that fails marks the connection for closing
at the end of the request or task, as it would without health checks.
"""

import re
import time

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import quote_schema_name

RECENTLY_USED_SECONDS = 1.0

SEARCH_PATH_PER_TRANSACTION = "transaction"
SEARCH_PATH_PER_SESSION = "session"

# Sent as they are: transaction control and session commands, which name no table.
_NEEDS_NO_PATH = re.compile(
    r"\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE"
    r"|SET|RESET|SHOW|DISCARD|CHECKPOINT|LISTEN|UNLISTEN|NOTIFY"
    r"|(CREATE|DROP|ALTER)\s+(DATABASE|TABLESPACE|SYSTEM))\b",
    re.IGNORECASE,
)
# What PostgreSQL refuses inside a transaction block (a prefixed statement runs in an implicit
# one) yet names tables: the session's path is set just before it instead.
_REFUSES_TRANSACTION_BLOCK = re.compile(
    r"\s*(VACUUM|CLUSTER|REINDEX|PREPARE"
    r"|(CREATE|DROP)\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY)\b",
    re.IGNORECASE,
)


class DatabaseWrapper(TenantDatabaseWrapper):
    # Set by Django's BaseDatabaseWrapper.__init__; django-stubs 5.2.9 does not declare them.
    health_check_enabled: bool
    health_check_done: bool

    def __init__(self, *args, **kwargs):
        # the path PostgreSQL holds for this session, if known (session mode)
        self._session_search_path: list[str] | None = None
        # the SET LOCAL the open transaction has run, if any (transaction mode)
        self._transaction_search_path: str | None = None
        self._last_success = float("-inf")
        super().__init__(*args, **kwargs)
        mode = self.settings_dict.get("SEARCH_PATH", SEARCH_PATH_PER_TRANSACTION)
        if mode not in (SEARCH_PATH_PER_TRANSACTION, SEARCH_PATH_PER_SESSION):
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                f'DATABASES SEARCH_PATH is "{mode}": use "transaction" (any pooler) or '
                '"session" (direct connections or session pooling only).'
            )
        self.search_path_per_transaction = mode == SEARCH_PATH_PER_TRANSACTION
        self.execute_wrappers.append(self._note_success)
        self.execute_wrappers.append(self._carry_search_path)

    # Search path, per transaction

    def _set_local_search_path_sql(self) -> str:
        schemas = ",".join(quote_schema_name(s) for s in self._get_cursor_search_paths())
        return f"SET LOCAL search_path = {schemas}"

    def _carry_search_path(self, execute, sql, params, many, context):
        if not self.search_path_per_transaction or not isinstance(sql, str):
            return execute(sql, params, many, context)
        if getattr(context["cursor"].cursor, "name", None) or _REFUSES_TRANSACTION_BLOCK.match(sql):
            # A server-side cursor's DECLARE (`.iterator()`) or a statement that must run outside
            # a transaction takes no prefix: the path goes just before it, for the session.
            # Direct connections only: DATABASE_POOLER=transaction disables server-side cursors,
            # and migrations run on a direct connection.
            with self.connection.cursor() as plain:
                plain.execute(self._set_local_search_path_sql().replace(" LOCAL", "", 1))
            return execute(sql, params, many, context)
        path = self._set_local_search_path_sql()
        in_transaction = not self.get_autocommit()
        if (in_transaction and self._transaction_search_path == path) or _NEEDS_NO_PATH.match(sql):
            return execute(sql, params, many, context)
        prefix = path if params is None else path.replace("%", "%%")
        result = execute(f"{prefix}; {sql}", params, many, context)
        if in_transaction:
            self._transaction_search_path = path
        return result

    def _forget_transaction_search_path(self):
        self._transaction_search_path = None

    def _commit(self):
        self._forget_transaction_search_path()
        return super()._commit()  # type: ignore[misc]  # not in django-stubs

    def _rollback(self):
        self._forget_transaction_search_path()
        return super()._rollback()  # type: ignore[misc]  # not in django-stubs

    def _set_autocommit(self, autocommit):
        self._forget_transaction_search_path()
        return super()._set_autocommit(autocommit)  # type: ignore[misc]  # not in django-stubs

    # Search path, per session

    def _handle_search_path(self, cursor=None):
        if self.search_path_per_transaction:
            return  # each transaction carries its own SET LOCAL
        if (
            not self._setting_search_path
            and not self.search_path_set_schemas
            and self.schema_name
            and self._session_search_path is not None
            and self._get_cursor_search_paths() == self._session_search_path
        ):
            self.search_path_set_schemas = self._session_search_path
            return
        super()._handle_search_path(cursor)
        if not self._setting_search_path:
            self._session_search_path = self.search_path_set_schemas

    def _forget_session_search_path(self):
        self._session_search_path = None

    def rollback(self):
        self._forget_session_search_path()
        self._forget_transaction_search_path()
        super().rollback()

    def savepoint_rollback(self, sid):
        try:
            super().savepoint_rollback(sid)
        finally:
            self._forget_session_search_path()
            self._forget_transaction_search_path()

    def close(self):
        self._forget_session_search_path()
        self._forget_transaction_search_path()
        self._last_success = float("-inf")
        super().close()

    # Health check

    def _note_success(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        self._last_success = time.monotonic()
        return result

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and time.monotonic() - self._last_success < RECENTLY_USED_SECONDS
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
