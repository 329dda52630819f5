"""The database backend: django-tenants' schema-aware PostgreSQL, with fewer round trips.

Two things every request and every task would otherwise pay for, on a persistent connection:

- `SET search_path`. django-tenants issues it after each `set_tenant()` (each request, each
  task), even when the session already has that very path. This backend remembers the path the
  session holds and skips a SET that would change nothing. The memory is dropped whenever
  PostgreSQL may have undone the SET: ROLLBACK, ROLLBACK TO SAVEPOINT and a closed connection
  (django-tenants drops its own flag at the same points; see tests/tenants/test_search_path.py).
- The health check. With CONN_HEALTH_CHECKS, Django pings a connection (`SELECT 1`) before its
  first query of every request or task. A connection whose last statement succeeded less than
  RECENTLY_USED_SECONDS ago is not pinged; an idle one (the kind a database restart or failover
  leaves broken overnight) still is, and a statement that fails marks the connection for closing
  at the end of the request or task, as it would without health checks.
"""

import time

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

RECENTLY_USED_SECONDS = 1.0


class DatabaseWrapper(TenantDatabaseWrapper):
    # Set by Django's BaseDatabaseWrapper.__init__; django-stubs 5.2.9 does not declare them.
    health_check_enabled: bool
    health_check_done: bool

    def __init__(self, *args, **kwargs):
        # the path PostgreSQL holds for this session, if known
        self._session_search_path: list[str] | None = None
        self._last_success = float("-inf")
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(self._note_success)

    # Search path

    def _handle_search_path(self, cursor=None):
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
        super().rollback()

    def savepoint_rollback(self, sid):
        try:
            super().savepoint_rollback(sid)
        finally:
            self._forget_session_search_path()

    def close(self):
        self._forget_session_search_path()
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
