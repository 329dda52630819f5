"""Who may open a stream, and how many at once: the events process's limits before PostgreSQL's.

Two limits keep a burst of screens (every TV of a region booting at 7:00, phones reconnecting
after a network cut) from reaching the database's connection limit:

- `OpeningGate`, around the ASGI application: at most `CLINICO_EVENTS_OPENING_SLOTS` requests
  are inside Django at once. Opening a stream reads its credential (the session, the panel key,
  the membership) on the request's own thread and connection; when the stream's answer starts,
  that connection is closed and the slot freed, and the stream reads only through the pool
  (events/pool.py). Requests that find no slot within `CLINICO_EVENTS_OPENING_WAIT_SECONDS`
  answer 503 with `Retry-After`; the pages' scripts and browsers' EventSource try again. A
  request still opening after `CLINICO_EVENTS_OPENING_TIMEOUT_SECONDS` is cut (503), and what
  could hold a slot without being a stream never gets one: other paths (404), other methods
  (405), requests with a body (400).
- `StreamSlots`: open streams per process (`CLINICO_EVENTS_MAX_STREAMS`: 503 with
  `Retry-After`), per credential (a panel, a session, a ticket's status link:
  `CLINICO_EVENTS_STREAMS_PER_CREDENTIAL`) and per client address
  (`CLINICO_EVENTS_STREAMS_PER_ADDRESS`): 429 with `Retry-After`.
"""

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.utils.translation import gettext as _
from prometheus_client import Gauge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

# What the events process serves: the streams, and health checks that need no slot. Everything
# else (the API, the pages, sign-in) is the web process's: here it would take opening slots and
# escape the web process's limits, so it answers 404 before any slot is taken.
STREAM_PATH_PREFIX = "/events/"
# /healthz touches nothing and needs no slot; /readyz reads the database, so it takes one.
UNGATED_PATHS = frozenset({"/healthz"})
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
STREAM_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def retry_after_seconds() -> int:
    return int(settings.CLINICO_EVENTS_RETRY_AFTER_SECONDS)


def _error_body(code: str, detail: str, kind: str = "client_error") -> bytes:
    return json.dumps({"type": kind, "errors": [{"code": code, "detail": detail}]}).encode()


def _busy_body() -> bytes:
    detail = _("Too many screens are connecting at once; this one will try again shortly.")
    return _error_body("events_busy", detail, kind="server_error")


def _is_event_stream(message: Message) -> bool:
    for name, value in message.get("headers", ()):
        if name.lower() == b"content-type":
            return value.startswith(b"text/event-stream")
    return False


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        name = name.lower()
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def _refusal(scope: Scope) -> tuple[int, bytes] | None:
    """Why the events process answers this request at once, without a slot; None: it may wait."""
    path = scope.get("path", "")
    if not path.startswith(STREAM_PATH_PREFIX) and path not in HEALTH_PATHS:
        detail = "The events process serves the live streams (/events/…) only."
        return 404, _error_body("stream_not_served_here", detail)
    if scope.get("method") not in STREAM_METHODS:
        return 405, _error_body("method_not_allowed", "Streams answer GET only.")
    if _has_body(scope):
        # A stream request has no body: one announced and never sent would hold a slot.
        return 400, _error_body("invalid", "A stream request has no body.")
    return None


class OpeningGate:
    """At most `slots` requests inside the application at once; a stream leaves at its start.

    A request still opening after CLINICO_EVENTS_OPENING_TIMEOUT_SECONDS (a client that stalls,
    a database that does not answer) is cut and answered 503, so that a few slow requests never
    hold every slot.
    """

    def __init__(self, app: ASGIApp):
        self.app = app
        self.slots = int(settings.CLINICO_EVENTS_OPENING_SLOTS)
        self.wait_s = float(settings.CLINICO_EVENTS_OPENING_WAIT_SECONDS)
        self.timeout_s = float(settings.CLINICO_EVENTS_OPENING_TIMEOUT_SECONDS)
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNGATED_PATHS:
            await self.app(scope, receive, send)
            return
        refusal = _refusal(scope)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        if self._semaphore is None:  # made on the server's event loop
            self._semaphore = asyncio.Semaphore(self.slots)
        semaphore = self._semaphore
        try:
            await asyncio.wait_for(semaphore.acquire(), self.wait_s)
        except TimeoutError:
            await _answer_busy(send)
            return
        held = True
        answered = asyncio.Event()
        cut = False

        def release() -> None:
            nonlocal held
            if held:
                held = False
                semaphore.release()

        async def send_through(message: Message) -> None:
            if cut:
                return  # answered 503 already: what the cut request still sends goes nowhere
            if message["type"] == "http.response.start":
                if _is_event_stream(message):
                    # The stream has opened: the connection its opening used (this request's
                    # thread's) goes back now, not when the stream ends hours later.
                    await sync_to_async(connections.close_all)()
                    release()
                answered.set()
            await send(message)

        request = asyncio.ensure_future(self.app(scope, receive, send_through))
        started = asyncio.ensure_future(answered.wait())
        try:
            await asyncio.wait(
                {request, started}, timeout=self.timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if not answered.is_set() and not request.done():
                cut = True
                request.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await request
                await _answer_busy(send)
                return
            await request  # the rest of the answer: for a stream, as long as it lasts
        finally:
            started.cancel()
            release()


async def _answer(send: Send, status: int, body: bytes, headers: tuple = ()) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _answer_busy(send: Send) -> None:
    retry_after = (b"retry-after", str(retry_after_seconds()).encode())
    await _answer(send, 503, _busy_body(), (retry_after,))


# Open streams of this process by kind (panel, ticket, user: the credential's first word).
open_streams = Gauge(
    "clinico_event_streams_open",
    "Open live streams of the events process, by kind.",
    ["kind"],
    multiprocess_mode="livesum",
)


class StreamSlots:
    """Open streams of this process: in all, per credential and per client address."""

    def __init__(self) -> None:
        self.total = 0
        self.by_credential: Counter[str] = Counter()
        self.by_address: Counter[str] = Counter()

    def refusal(self, *, credential: str, address: str) -> tuple[int, str] | None:
        """(status, code) when one more stream of `credential` from `address` is too many."""
        if self.total >= int(settings.CLINICO_EVENTS_MAX_STREAMS):
            return 503, "events_busy"
        if self.by_credential[credential] >= int(settings.CLINICO_EVENTS_STREAMS_PER_CREDENTIAL):
            return 429, "too_many_streams"
        if self.by_address[address] >= int(settings.CLINICO_EVENTS_STREAMS_PER_ADDRESS):
            return 429, "too_many_streams"
        return None

    def take(self, *, credential: str, address: str) -> Callable[[], None]:
        """Count one stream; the function returned (idempotent) gives its place back."""
        self.total += 1
        self.by_credential[credential] += 1
        self.by_address[address] += 1
        kind = open_streams.labels(credential.partition(":")[0])
        kind.inc()
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            if given_back:
                return
            given_back = True
            self.total -= 1
            kind.dec()
            for counter, key in ((self.by_credential, credential), (self.by_address, address)):
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]

        return give_back


stream_slots = StreamSlots()
