"""Connections that outlive a database restart, for the processes that run for days.

A web request and a Celery task get Django's connection care for free: stale connections are
closed before and after each one, and CONN_HEALTH_CHECKS pings an idle connection before its
first query (clinico/postgresql). A process that loops on its own (the webhook listener, beat,
the events process's hub) has no request to hang that on, so it calls these instead:

- `database_retry(fn)`: `fn()` on a fresh connection (what a restart broke, or what is past
  CONN_MAX_AGE, is closed first; the next query connects anew or pings first), run again with
  a back-off while the database refuses or drops connections;
- `listen_open` / `listen_connect`: a psycopg2 connection LISTENing on a channel, opened once or
  retried with a back-off until it is, wrapped so that it can still be unwatched and closed
  after the server has closed it (psycopg2's `fileno()` raises on a closed connection).

docs/operations.md ("Supervision and restarts") says which process reconnects how.
"""

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import psycopg2
import psycopg2.extensions
from django.db import InterfaceError, OperationalError, close_old_connections, connections

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What a dropped or refused connection raises, through the ORM and through psycopg2 directly.
CONNECTION_ERRORS = (
    OperationalError,
    InterfaceError,
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
)


def connection_error_reason(error: Exception) -> str:
    """The first line of a connection error (psycopg2's messages run over several)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _pause(seconds: float, should_stop: Callable[[], bool]) -> None:
    """Sleep `seconds`, cut short when `should_stop()` (a SIGTERM does not wait out a back-off)."""
    deadline = time.monotonic() + seconds
    while not should_stop() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))


def backoff_delays(*, first: float = 0.5, cap: float = 5.0) -> Iterator[float]:
    """Seconds to wait before each next attempt: `first`, doubling, at most `cap`."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, cap)


def database_fresh() -> None:
    """Close this thread's connections that a restart broke or that are past CONN_MAX_AGE.

    The next query then connects anew, or (CONN_HEALTH_CHECKS) pings an idle connection first.
    """
    close_old_connections()


def database_retry(
    fn: Callable[[], T],
    *,
    what: str,
    should_stop: Callable[[], bool] = lambda: False,
    delays: Iterator[float] | None = None,
) -> T:
    """`fn()` on a fresh connection, again after a back-off while the database is unreachable.

    A connection error of the last attempt is raised when `should_stop()` says so.
    """
    for delay in delays or backoff_delays():
        database_fresh()
        try:
            return fn()
        except CONNECTION_ERRORS as error:
            # The connection is broken either way: a new one for the next attempt.
            connections.close_all()
            if should_stop():
                raise
            logger.warning(
                "%s: database unreachable (%s); again in %.1f s",
                what,
                connection_error_reason(error),
                delay,
            )
            _pause(delay, should_stop)
    raise AssertionError("back-off delays ended")  # backoff_delays() never ends


class ListenConnection:
    """A psycopg2 connection LISTENing on a channel, whose socket number outlives its loss."""

    def __init__(self, connection: psycopg2.extensions.connection):
        self.connection = connection
        self._fileno = connection.fileno()

    def fileno(self) -> int:
        """The socket's number, also after the server closed the connection (for `select`)."""
        return self._fileno

    def notifications(self) -> list:
        """The notifications received so far, taken; psycopg2.Error once the connection is lost."""
        self.connection.poll()
        notes = list(self.connection.notifies)
        self.connection.notifies.clear()
        return notes

    def close(self) -> None:
        with contextlib.suppress(psycopg2.Error):
            self.connection.close()


def listen_open(*, params: dict, channel: str) -> ListenConnection:
    """A new connection with `params` (psycopg2.connect's) LISTENing on `channel`; one attempt."""
    connection = psycopg2.connect(**params)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {channel}")
    except psycopg2.Error:
        with contextlib.suppress(psycopg2.Error):
            connection.close()
        raise
    return ListenConnection(connection)


def listen_connect(
    *,
    params: dict,
    channel: str,
    what: str,
    should_stop: Callable[[], bool] = lambda: False,
    delays: Iterator[float] | None = None,
) -> ListenConnection | None:
    """`listen_open`, retried with a back-off until it succeeds; None once `should_stop()`.

    The back-off stays short (at most 2 s): what is published late is what was missed.
    """
    for delay in delays or backoff_delays(first=0.2, cap=2.0):
        if should_stop():
            return None
        try:
            return listen_open(params=params, channel=channel)
        except psycopg2.Error as error:
            logger.warning(
                "%s: cannot LISTEN on %s (%s); again in %.1f s",
                what,
                channel,
                connection_error_reason(error),
                delay,
            )
            _pause(delay, should_stop)
    return None
