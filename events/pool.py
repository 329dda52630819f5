"""The events process's database reads: a fixed pool of threads, one connection each.

A live stream lasts hours, and Django's asynchronous request handling gives every request a
thread of its own, with a database connection of its own for as long as the request lasts. A
stream whose reads ran there would hold a PostgreSQL connection for its whole life, and leave it
behind for the garbage collector when it ends: a few hundred screens would fill
`max_connections` for the whole platform. So every read a stream makes after it has opened (the
`Last-Event-ID` replay, the hub's new events, the credential re-checks) runs here instead:
`CLINICO_EVENTS_DB_POOL` threads, each keeping one connection between reads (never a
transaction), so the process holds at most that many read connections whatever the number of
streams. docs/events.md counts the rest (the LISTEN connection, the streams being opened).

A connection the database dropped (a restart, a failover) is found on the next read: the read
runs once more on a new connection.
"""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections

T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def pool_size() -> int:
    return int(settings.CLINICO_EVENTS_DB_POOL)


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=pool_size(), thread_name_prefix="events-db")
        return _executor


def _usable_connection_run(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` on this thread's connection, once more on a new one if the old one is gone."""
    try:
        return fn(*args)
    except (InterfaceError, OperationalError):
        connections.close_all()  # dropped by the server, or the server is back: a new one
        return fn(*args)
    except DatabaseError:
        connections.close_all()  # never leave a broken connection for the next read
        raise


async def pooled(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` (synchronous, may use the ORM) on a thread of the pool, awaited."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), _usable_connection_run, fn, *args)


def pool_connections_close() -> None:
    """Close the pool threads' connections (a test that ran the hub in-process)."""
    size = pool_size()
    barrier = threading.Barrier(size)

    def close() -> None:
        barrier.wait(timeout=5)  # one task per thread: each waits until all have started
        connections.close_all()

    for future in [_pool().submit(close) for _ in range(size)]:
        future.result(timeout=10)
