"""Live delivery of the event stream: one LISTEN connection per process, fanned out to its streams.

An ASGI process (uvicorn) serves many long-lived streams. It holds one PostgreSQL connection
that LISTENs on `clinico_events` (events/models.py: the payload is "<schema> <newest id>").
A notification for a clinic with open streams here makes the hub read that clinic's new events
once, after the hub's cursor for the clinic, and hand the batch to each of the clinic's
streams; a notification for a clinic with no stream here costs a dictionary look-up. Each
stream filters the batch (kinds, a ticket) and writes server-sent events.

The listening connection is psycopg2's, watched with the event loop's `add_reader`: Django
picks psycopg 3 over psycopg2 whenever it is installed, so adding it for its async
`notifies()` would have changed the driver of the whole application.

A stream resumes from `Last-Event-ID` (or `?last_event_id=`): ids increase in commit order
within a clinic (docs/events.md), so "every event after N" read from the outbox misses nothing.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

import psycopg2
import psycopg2.extensions
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context
from prometheus_client import Histogram

from common.reconnect import ListenConnection, backoff_delays, listen_open
from events.models import EVENTS_CHANNEL, FIGURES_REFRESHED, Event
from events.pool import pooled
from events.selectors import event_last_id, event_list_after

logger = logging.getLogger(__name__)

READ_BATCH = 500
# A stream resumes from the outbox only this many events back; further, it starts from now.
MAX_CATCH_UP = 5000
# A message, not a comment: the page's script sees it and knows a silent stream is dead.
HEARTBEAT = 'data: {"kind":"stream.heartbeat"}\n\n'
# From an event's time (its transaction) to the hub's read of it for the clinic's streams.
notification_lag = Histogram(
    "clinico_event_stream_lag_seconds",
    "From an event's write to its read by the events process for the clinic's open streams.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


@dataclass(frozen=True)
class StreamScope:
    """Which events of which clinic a stream sends: all, some kinds, or one ticket's."""

    schema_name: str
    kinds: frozenset[str] | None = None
    ticket_id: int | None = None
    # A panel's desks: only events at these desks (a panel shows its own desks' calls).
    desk_ids: frozenset[int] | None = None

    def wants(self, event: Event) -> bool:
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        if self.desk_ids is not None and event.desk_id not in self.desk_ids:
            return False
        return self.ticket_id is None or event.ticket_id == self.ticket_id


def _read_after(schema_name: str, after_id: int, ticket_id: int | None = None) -> list[Event]:
    with schema_context(schema_name):
        return event_list_after(after_id=after_id, limit=READ_BATCH, ticket_id=ticket_id)


def _last_id(schema_name: str) -> int:
    with schema_context(schema_name):
        return event_last_id()


async def read_after(schema_name: str, after_id: int, ticket_id: int | None = None) -> list[Event]:
    """The clinic's events after `after_id`, read on the process's pool (events/pool.py)."""
    return await pooled(_read_after, schema_name, after_id, ticket_id)


async def last_id(schema_name: str) -> int:
    return await pooled(_last_id, schema_name)


def _listen_dsn() -> dict[str, object]:
    db = settings.DATABASES["default"]
    options = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "application_name": "clinico-events-listen",
        "keepalives": 1,
        "keepalives_idle": 30,
    }
    return {key: value for key, value in options.items() if value is not None}


@dataclass(eq=False)
class Subscription:
    """A stream's place at the hub: batches of its clinics' new events arrive on `queue`."""

    schemas: tuple[str, ...]
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def deliver(self, schema_name: str, events: list[Event]) -> None:
        self.queue.put_nowait((schema_name, events))


class EventHub:
    """The process's one LISTEN connection and the streams it wakes, by clinic schema."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._cursor: dict[str, int] = {}
        self._pending: set[str] = set()
        self._fetching: dict[str, asyncio.Task] = {}
        self._connection: ListenConnection | None = None
        self._connecting: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.notifications = 0

    @property
    def listening(self) -> bool:
        return self._connection is not None

    async def subscribe(self, schemas: Iterable[str]) -> Subscription:
        """Register a stream for the clinics `schemas`; call `unsubscribe` when it ends."""
        await self._ensure_listening()
        subscription = Subscription(schemas=tuple(schemas))
        for schema in subscription.schemas:
            if schema not in self._cursor:
                newest = await last_id(schema)
                # Another stream of the clinic may have set it meanwhile: keep the older cursor,
                # so that nothing committed between the two reads is skipped.
                self._cursor.setdefault(schema, newest)
            self._subscriptions.setdefault(schema, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        for schema in subscription.schemas:
            streams = self._subscriptions.get(schema)
            if streams is None:
                continue
            streams.discard(subscription)
            if not streams:
                del self._subscriptions[schema]
                self._cursor.pop(schema, None)

    def stream_count(self) -> int:
        return len({s for streams in self._subscriptions.values() for s in streams})

    # --- the LISTEN connection ---------------------------------------------------------------

    async def _ensure_listening(self) -> None:
        if self._connection is not None:
            return
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.get_running_loop().create_task(self._connect())
        await asyncio.shield(self._connecting)

    def _open(self) -> ListenConnection:
        return listen_open(params=_listen_dsn(), channel=EVENTS_CHANNEL)

    async def _connect(self) -> None:
        self._loop = asyncio.get_running_loop()
        for delay in backoff_delays(first=0.2, cap=5.0):
            try:
                connection = await asyncio.to_thread(self._open)
            except psycopg2.Error as error:
                logger.warning("Cannot LISTEN for events (%s); again in %s s", error, delay)
                await asyncio.sleep(delay)
                continue
            self._connection = connection
            self._loop.add_reader(connection.fileno(), self._readable)
            # Notifications sent while no connection listened are lost: read every clinic
            # with open streams again.
            for schema in list(self._subscriptions):
                self._wake(schema)
            logger.info("Listening for events on %s", EVENTS_CHANNEL)
            return

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._loop is not None:
            # The socket number kept from the opening: the server may have closed it already.
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(connection.fileno())
        connection.close()

    def _readable(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            notes = connection.notifications()
        except psycopg2.Error as error:
            logger.warning("Lost the events LISTEN connection (%s); reconnecting", error)
            self._drop_connection()
            if self._loop is not None and self._subscriptions:
                self._connecting = self._loop.create_task(self._connect())
            return
        for note in notes:
            self.notifications += 1
            schema, _sep, rest = note.payload.partition(" ")
            if schema not in self._subscriptions:
                continue
            if rest == FIGURES_REFRESHED:
                # No new event: the dashboards' streams say the clinic changed, others ignore it.
                for subscription in list(self._subscriptions[schema]):
                    subscription.deliver(schema, [])
            else:
                self._wake(schema)

    # --- reading a clinic's new events once for all its streams -----------------------------

    def _wake(self, schema: str) -> None:
        self._pending.add(schema)
        if schema not in self._fetching and self._loop is not None:
            self._fetching[schema] = self._loop.create_task(self._fetch(schema))

    async def _fetch(self, schema: str) -> None:
        try:
            while schema in self._pending:
                self._pending.discard(schema)
                after = self._cursor.get(schema)
                if after is None:  # its last stream has gone
                    return
                try:
                    events = await read_after(schema, after)
                except Exception:  # noqa: BLE001 - the hub must outlive a failed read
                    logger.exception("Reading new events of %s failed; retrying", schema)
                    await asyncio.sleep(1)
                    self._pending.add(schema)
                    continue
                if not events:
                    continue
                read_at = timezone.now()
                for event in events:
                    notification_lag.observe(max((read_at - event.at).total_seconds(), 0.0))
                if schema in self._cursor:
                    self._cursor[schema] = max(self._cursor[schema], events[-1].id)
                for subscription in list(self._subscriptions.get(schema, ())):
                    subscription.deliver(schema, events)
                if len(events) == READ_BATCH:
                    self._pending.add(schema)
        finally:
            self._fetching.pop(schema, None)


_hub: EventHub | None = None


def hub_get() -> EventHub:
    """This process's hub (one per event loop's process; created on the first stream)."""
    global _hub
    if _hub is None:
        _hub = EventHub()
    return _hub


# --- server-sent events ----------------------------------------------------------------------


def sse_message(*, data: dict, event_id: int | None = None) -> str:
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines.append("data: " + json.dumps(data, separators=(",", ":"), default=str))
    return "\n".join(lines) + "\n\n"


def event_payload(event: Event) -> dict:
    """What a stream sends of an event: the row as the contract names it (no personal data)."""
    return {
        "id": event.id,
        "kind": event.kind,
        "at": event.at.isoformat(),
        "ticket_id": event.ticket_id,
        "service_id": event.service_id,
        "desk_id": event.desk_id,
        "data": event.data,
    }


def heartbeat_seconds() -> float:
    return float(settings.CLINICO_EVENTS_HEARTBEAT_SECONDS)


def recheck_seconds() -> float:
    return float(settings.CLINICO_EVENTS_RECHECK_SECONDS)


# A stream's credential check: synchronous (it may read the database), run on the read pool.
StillAllowed = Callable[[], bool]


class Refused:
    """What `_live` yields, last, when a stream's credential no longer holds."""


REFUSED = Refused()


async def _live(
    subscription: Subscription,
    *,
    tick: float,
    still_allowed: StillAllowed | None,
) -> AsyncIterator[tuple[str, list[Event]] | Refused | None]:
    """What a stream's subscription brings, as it comes: a batch `(schema, events)`; None after
    `tick` seconds with nothing (the stream decides whether a heartbeat is due); REFUSED, last,
    once the credential no longer holds. The credential is checked again every
    CLINICO_EVENTS_RECHECK_SECONDS by the clock, however busy the clinic: a rotated panel key or a
    signed-out session ends its stream within that time.
    """
    next_check = time.monotonic() + recheck_seconds()
    while True:
        now = time.monotonic()
        wait = min(tick, next_check - now) if still_allowed is not None else tick
        try:
            batch = await asyncio.wait_for(subscription.queue.get(), max(wait, 0))
        except TimeoutError:
            batch = None
        now = time.monotonic()
        if still_allowed is not None and now >= next_check:
            if not await pooled(still_allowed):
                yield REFUSED
                return
            next_check = now + recheck_seconds()
        yield batch


class _Silence:
    """When a stream last wrote to its client, and whether a heartbeat is due.

    Only what the stream itself sends counts: a panel whose clinic is busy with check-ins it
    does not show still gets its heartbeat, or the page would take the silence for a dead
    connection and fall back to polling.
    """

    def __init__(self, heartbeat: float):
        self.heartbeat = heartbeat
        self.last = time.monotonic()

    def sent(self) -> None:
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.heartbeat

    @property
    def tick(self) -> float:
        return self.heartbeat / 3


def _released(release: Callable[[], None] | None) -> None:
    if release is not None:
        release()


async def event_stream(
    *,
    scope: StreamScope,
    after_id: int | None,
    still_allowed: StillAllowed | None = None,
    heartbeat_s: float | None = None,
    release: Callable[[], None] | None = None,
) -> AsyncIterator[str]:
    """Server-sent events of one clinic's stream: the missed ones after `after_id`, then live.

    Opens with a `stream.open` message carrying the newest id (the page's resumption point),
    sends `stream.heartbeat` when it sent nothing else for a heartbeat, so proxies keep the
    connection and the page knows it is alive, re-checks `still_allowed` on a timer (a rotated
    panel key, a revoked membership, an ended session) and ends with `stream.refused` when it no
    longer holds. `release` is called when the stream ends (its place in the process's limits).
    """
    hub = hub_get()
    heartbeat = heartbeat_s or heartbeat_seconds()
    try:
        subscription = await hub.subscribe([scope.schema_name])
    except BaseException:
        _released(release)
        raise
    try:
        yield f"retry: {settings.CLINICO_EVENTS_RETRY_MS}\n\n"
        newest = await last_id(scope.schema_name)
        # Far behind (a TV switched off for a week) or ahead of the clinic's ids (a restored
        # database): start from now; the page reads its state again when the stream opens.
        resumable = after_id is not None and newest - MAX_CATCH_UP <= after_id <= newest
        last = after_id if resumable and after_id is not None else newest
        caught_up = not resumable
        while not caught_up:
            missed = await read_after(scope.schema_name, last, scope.ticket_id)
            for event in missed:
                if scope.wants(event):
                    yield sse_message(data=event_payload(event), event_id=event.id)
                last = event.id
            caught_up = len(missed) < READ_BATCH
        opened = {"kind": "stream.open", "last_id": last, "heartbeat_s": heartbeat}
        yield sse_message(data=opened, event_id=last)
        silence = _Silence(heartbeat)
        async for item in _live(subscription, tick=silence.tick, still_allowed=still_allowed):
            if isinstance(item, Refused):
                yield sse_message(data={"kind": "stream.refused"})
                return
            for event in item[1] if item is not None else ():
                if event.id <= last:
                    continue
                last = event.id
                if scope.wants(event):
                    yield sse_message(data=event_payload(event), event_id=event.id)
                    silence.sent()
            if silence.due():
                yield HEARTBEAT
                silence.sent()
    finally:
        hub.unsubscribe(subscription)
        _released(release)


async def clinics_stream(
    *,
    schemas: list[str],
    still_allowed: StillAllowed | None = None,
    heartbeat_s: float | None = None,
    release: Callable[[], None] | None = None,
) -> AsyncIterator[str]:
    """Server-sent events for several clinics (the chain dashboard): which clinic changed.

    Ids are per clinic, so this stream has none to resume from: a page that reconnects reads
    its figures again instead.
    """
    hub = hub_get()
    heartbeat = heartbeat_s or heartbeat_seconds()
    try:
        subscription = await hub.subscribe(schemas)
    except BaseException:
        _released(release)
        raise
    try:
        yield f"retry: {settings.CLINICO_EVENTS_RETRY_MS}\n\n"
        opened = {"kind": "stream.open", "clinics": len(schemas), "heartbeat_s": heartbeat}
        yield sse_message(data=opened)
        silence = _Silence(heartbeat)
        async for item in _live(subscription, tick=silence.tick, still_allowed=still_allowed):
            if isinstance(item, Refused):
                yield sse_message(data={"kind": "stream.refused"})
                return
            if item is not None:
                schema, events = item
                kinds = sorted({event.kind for event in events})
                yield sse_message(
                    data={"kind": "clinic.changed", "clinic": schema, "kinds": kinds},
                )
                silence.sent()
            if silence.due():
                yield HEARTBEAT
                silence.sent()
    finally:
        hub.unsubscribe(subscription)
        _released(release)
