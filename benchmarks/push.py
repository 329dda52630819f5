"""Push benchmark: panel streams on the events process, against `make run`'s stack.

  setup    --clinics bench clinics (`bench_push_00` …) of the bench chain, each with a desk and
           enough waiting tickets; --streams panel streams spread evenly across them, opened on
           the events process (uvicorn, CLINICO_EVENTS_PORT) with the clinic's panel key, all
           held by one asyncio loop in this process (a thread);
  idle     --idle-seconds with nothing happening: the requests the connected panels send (each
           stream is one request, so only reconnections would count) beside what the same panels
           would send polling every 2 s; the heartbeats received show the streams were alive;
  timed    batches in turn: floor, calls, floor, … , floor. A floor batch is --batch authenticated
           GETs (/api/v1/me/, timed) on the web process; a calls batch is --batch desk calls
           (POST call-next, then no-show to free the desk; not timed), one clinic after the other,
           each followed by a short pause. Event-to-client latency: for each call and each panel
           of its clinic, from the call event's time (`at`, stamped by the web process before its
           commit; same machine, same clock) to the moment the panel's stream delivered it.
  checks   every call reached every panel of its clinic (missing deliveries are counted), and
           no panel received another clinic's call.
Ends with one JSON line.

Run: .venv/bin/python benchmarks/push.py [--clinics 20] [--streams 200] [--calls 400]
     [--batch 50] [--idle-seconds 30] [--base-url http://127.0.0.1:$CLINICO_WEB_PORT]
     [--events-url http://127.0.0.1:$CLINICO_EVENTS_PORT]
"""

import sys
from pathlib import Path

# benchmarks/queue.py would shadow the standard library's `queue` (asyncio and urllib3 use it):
# keep this folder off sys.path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import asyncio
import datetime
import json
import math
import os
import threading
import time
from collections import defaultdict
from urllib.parse import urlsplit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

import django

django.setup()

from django.db import connection

from benchmarks._bench import (
    ClinicAuth,
    bench_clinic_ensure,
    bench_clinics_activate,
    bench_clinics_deactivate,
    bench_user_ensure,
    interleaved,
    latency_summary,
    median,
    wait_until_served,
)
from benchmarks._http_client import KeepAliveClient, default_base_url
from queueing.models import Desk, Service, Ticket, TicketStatus
from queueing.services.setup import desk_create
from queueing.services.tickets import ticket_issue
from patients.models import Patient
from tenants.selectors import clinic_hostname

FLOOR_PATH = "/api/v1/me/"
POLL_EVERY_S = 2.0
PAUSE_BETWEEN_CALLS_S = 0.02


def default_events_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('CLINICO_EVENTS_PORT', '8001')}"


class PanelStreams:
    """Panel streams held by one asyncio loop in a thread: deliveries, requests, heartbeats."""

    def __init__(self, events_url: str):
        parts = urlsplit(events_url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.lock = threading.Lock()
        self.requests = 0
        self.opened = 0
        self.heartbeats = 0
        self.failures: list[str] = []
        # (schema, event id) -> [(panel index, received wall time)]
        self.deliveries: dict[tuple[str, int], list[tuple[int, float]]] = defaultdict(list)
        self.panels_of: dict[str, list[int]] = defaultdict(list)
        self.wrong_clinic = 0
        self.busy_answers = 0
        self.tasks = []

    def open(self, panels: list[tuple[str, str, str]]) -> None:
        """Open one stream per (schema, host, panel key); wait until every one has opened."""
        for index, (schema, host, key) in enumerate(panels):
            self.panels_of[schema].append(index)
            future = asyncio.run_coroutine_threadsafe(
                self._stream(index, schema, host, key), self.loop
            )
            self.tasks.append(future)
        deadline = time.monotonic() + 60 + len(panels) / 20
        while self.opened < len(panels):
            if self.failures or time.monotonic() > deadline:
                raise SystemExit(
                    f"{self.opened} of {len(panels)} streams opened; failures: {self.failures[:3]}"
                )
            time.sleep(0.05)

    async def _stream(self, index: int, schema: str, host: str, key: str) -> None:
        while True:
            reader, writer = await asyncio.open_connection(*self.address)
            with self.lock:
                self.requests += 1
            writer.write(
                (
                    "GET /events/panel/ HTTP/1.1\r\n"
                    f"Host: {host}\r\nX-Panel-Key: {key}\r\nAccept: text/event-stream\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            status = await reader.readline()
            if b" 503 " not in status:
                break
            # The events process is busy opening others: come back when it says, as pages do.
            retry_after = 1.0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"retry-after:"):
                    retry_after = float(line.split(b":", 1)[1].strip() or 1)
            writer.close()
            with self.lock:
                self.busy_answers += 1
            await asyncio.sleep(retry_after)
        if b" 200 " not in status:
            self.failures.append(f"{host}: {status!r}")
            return
        chunked = False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower():
                chunked = True
        buffer = b""
        while True:
            if chunked:
                size_line = await reader.readline()
                if not size_line:
                    break
                size = int(size_line.strip() or b"0", 16)
                if size == 0:
                    break
                data = await reader.readexactly(size + 2)
                buffer += data[:-2]
            else:
                data = await reader.read(65536)
                if not data:
                    break
                buffer += data
            while b"\n\n" in buffer:
                message, buffer = buffer.split(b"\n\n", 1)
                self._message(index, schema, message.decode())
        self.failures.append(f"{host}: stream ended")

    def _message(self, index: int, schema: str, message: str) -> None:
        received = time.time()
        data_lines = [line[5:].lstrip() for line in message.split("\n") if line.startswith("data:")]
        if not data_lines:
            return
        event = json.loads("\n".join(data_lines))
        kind = event.get("kind")
        with self.lock:
            if kind == "stream.open":
                self.opened += 1
            elif kind == "stream.heartbeat":
                self.heartbeats += 1
            elif kind == "ticket.called":
                self.deliveries[(schema, event["id"])].append((index, received))

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        time.sleep(0.2)
        self.loop.call_soon_threadsafe(self.loop.stop)


class EventsConnections:
    """The events process's PostgreSQL connections (named clinico-events…), sampled all along."""

    SQL = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name LIKE 'clinico-events%%'"
    )

    def __init__(self):
        import psycopg2

        db = connection.settings_dict
        self.admin = psycopg2.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None,
            dbname=db["NAME"], application_name="bench-push-sampler",
        )  # fmt: skip
        self.admin.autocommit = True
        self.samples: list[int] = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def count(self) -> int:
        with self.admin.cursor() as cursor:
            cursor.execute(self.SQL)
            return cursor.fetchone()[0]

    def _run(self) -> None:
        while self.running:
            self.samples.append(self.count())
            time.sleep(0.1)

    def stop(self) -> int:
        self.running = False
        self.thread.join(timeout=5)
        after = self.count()
        self.admin.close()
        return after


def documented_bound() -> int:
    """docs/events.md: one LISTEN connection, the read pool and the opening slots."""
    from django.conf import settings

    return 1 + settings.CLINICO_EVENTS_DB_POOL + settings.CLINICO_EVENTS_OPENING_SLOTS


def setup_clinics(args) -> list[dict]:
    clinics = bench_clinics_activate(
        [
            bench_clinic_ensure(slug=f"bench_push_{n:02d}", name=f"Bench Painel {n:02d}")
            for n in range(args.clinics)
        ]
    )
    user = bench_user_ensure(email="bench-push@bench.clinico", full_name="Bench Painel")
    per_clinic_calls = math.ceil(args.calls / len(clinics)) + 2
    prepared = []
    for clinic in clinics:
        with clinic:
            Desk.objects.filter(name="Bench Guichê").delete()
            service = Service.objects.get(is_default=True)
            desk = desk_create(name="Bench Guichê", service_ids=[service.pk])
            Ticket.objects.filter(
                service_day__lte=datetime.date.today(),
                status__in=(TicketStatus.CALLED, TicketStatus.IN_SERVICE),
            ).update(status=TicketStatus.NO_SHOW)
            waiting = Ticket.objects.filter(status=TicketStatus.WAITING).count()
            for n in range(max(0, per_clinic_calls - waiting)):
                patient, _ = Patient.objects.get_or_create(
                    cpf=f"9{n + waiting:010d}", defaults={"full_name": "Bench Paciente"}
                )
                ticket_issue(patient=patient, service=service)
        prepared.append(
            {
                "clinic": clinic,
                "desk_id": desk.pk,
                "auth": ClinicAuth(user=user, clinic=clinic, role="receptionist"),
                "host": clinic_hostname(clinic=clinic),
            }
        )
    return prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=20)
    parser.add_argument("--streams", type=int, default=200, help="panel streams, spread evenly")
    parser.add_argument("--calls", type=int, default=400, help="desk calls in all")
    parser.add_argument("--batch", type=int, default=50, help="calls (and floor GETs) per batch")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--base-url", default=default_base_url())
    parser.add_argument("--events-url", default=default_events_url())
    args = parser.parse_args()

    streams = PanelStreams(args.events_url)
    sampled = EventsConnections()
    connections_after = None
    try:
        prepared = setup_clinics(args)
        client = KeepAliveClient(args.base_url)
        for item in prepared:
            wait_until_served(client=client, auth=item["auth"], path=FLOOR_PATH)
        panels = [
            (item["clinic"].schema_name, item["host"], item["clinic"].panel_key)
            for n in range(args.streams)
            for item in [prepared[n % len(prepared)]]
        ]
        opened_at = time.monotonic()
        streams.open(panels)
        print(
            f"{len(panels)} panel streams open across {len(prepared)} clinics in "
            f"{time.monotonic() - opened_at:.2f} s ({streams.busy_answers} answers 503 "
            f"'come back', each followed as pages do); events process's PostgreSQL "
            f"connections so far: at most {max(sampled.samples, default=0)} "
            f"(documented bound {documented_bound()})"
        )

        # Idle: nothing happens; count what the panels send.
        requests_before, beats_before = streams.requests, streams.heartbeats
        time.sleep(args.idle_seconds)
        idle_requests = streams.requests - requests_before
        idle_per_min = idle_requests * 60 / args.idle_seconds
        polling_per_min = len(panels) * 60 / POLL_EVERY_S
        heartbeats = streams.heartbeats - beats_before
        print(
            f"idle {args.idle_seconds:.0f} s: {idle_requests} requests from {len(panels)} "
            f"streaming panels ({idle_per_min:.0f}/min) vs {polling_per_min:.0f}/min polling "
            f"every {POLL_EVERY_S:.0f} s; {heartbeats} heartbeats received"
        )

        floor: list[float] = []
        called: list[tuple[str, int, float]] = []  # (schema, ticket id, POST sent at)
        rounds = max(1, math.ceil(args.calls / args.batch))
        budget = {"calls": args.calls}

        def floor_batch(_: int, *, record: bool = True) -> None:
            auth = prepared[0]["auth"]
            for _ in range(args.batch):
                started = time.perf_counter()
                response = client.get(FLOOR_PATH, headers=auth.headers())
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (response.status_code, response.text[:200])
                if record:
                    floor.append(elapsed)

        def calls_batch(round_index: int) -> None:
            count = min(args.batch, budget["calls"])
            budget["calls"] -= count
            for n in range(count):
                item = prepared[(round_index * args.batch + n) % len(prepared)]
                headers = item["auth"].headers()
                response = client.post(
                    f"/api/v1/desks/{item['desk_id']}/call-next/", headers=headers
                )
                assert response.status_code == 200, (response.status_code, response.text[:300])
                ticket = response.json()["ticket"]
                if ticket is None:
                    continue
                called.append((item["clinic"].schema_name, ticket["id"], time.time()))
                freed = client.post(f"/api/v1/tickets/{ticket['id']}/no-show/", headers=headers)
                assert freed.status_code == 200, (freed.status_code, freed.text[:300])
                time.sleep(PAUSE_BETWEEN_CALLS_S)

        floor_batch(0, record=False)
        interleaved(rounds=rounds, floor=floor_batch, measured=calls_batch)
        time.sleep(2)  # the last deliveries

        # The call events as the database has them: id and time stamped by the web process.
        latencies: list[float] = []
        missing = 0
        expected = 0
        from events.models import Event

        by_clinic: dict[str, list[int]] = defaultdict(list)
        for schema, ticket_id, _sent in called:
            by_clinic[schema].append(ticket_id)
        for item in prepared:
            schema = item["clinic"].schema_name
            with item["clinic"]:
                events = list(
                    Event.objects.filter(
                        kind="ticket.called", ticket_id__in=by_clinic[schema]
                    ).values_list("id", "at")
                )
            panels_here = set(streams.panels_of[schema])
            for event_id, at in events:
                got = streams.deliveries.get((schema, event_id), [])
                expected += len(panels_here)
                seen = {index for index, _t in got}
                missing += len(panels_here - seen)
                streams.wrong_clinic += len(seen - panels_here)
                latencies += [(received - at.timestamp()) * 1000 for _i, received in got]
    finally:
        streams.close()
        time.sleep(1)  # the events process notices the streams have gone
        connections_after = sampled.stop()
        connection.set_schema_to_public()
        bench_clinics_deactivate()

    push = latency_summary(latencies)
    floor_ms = latency_summary(floor)
    figures = {
        "bench": "push",
        "clients": len(panels),
        "clinics": len(prepared),
        "calls": len(called),
        "deliveries": len(latencies),
        "missing_deliveries": missing,
        "wrong_clinic_deliveries": streams.wrong_clinic,
        "event_to_client_p50_ms": push["p50"],
        "event_to_client_p95_ms": push["p95"],
        "event_to_client_p99_ms": push["p99"],
        "idle_requests_per_min": round(idle_per_min, 1),
        "polling_requests_per_min": round(polling_per_min, 1),
        "idle_seconds": args.idle_seconds,
        "idle_heartbeats": heartbeats,
        "floor_get_p50_ms": floor_ms["p50"],
        "floor_get_p95_ms": floor_ms["p95"],
        "floor_get_median_ms": round(median(floor), 2),
        "floor_path": FLOOR_PATH,
        "batches": rounds,
        "events_db_connections_max": max(sampled.samples, default=0),
        "events_db_connections_bound": documented_bound(),
        "events_db_connections_after": connections_after,
        "busy_answers": streams.busy_answers,
    }
    print(
        f"\n{len(called)} calls, {len(latencies)} deliveries to {len(panels)} panels "
        f"({missing} missing of {expected}, {streams.wrong_clinic} to another clinic's panel): "
        f"event-to-client p50 {push['p50']} ms, p95 {push['p95']} ms, p99 {push['p99']} ms "
        f"(target p95 <= 500 ms) | floor GET {FLOOR_PATH} p50 {floor_ms['p50']} ms, "
        f"p95 {floor_ms['p95']} ms ({floor_ms['n']} requests, {rounds + 1} batches around "
        f"{rounds} batches of calls) | idle: {idle_per_min:.0f} requests/min vs "
        f"{polling_per_min:.0f}/min polling | events process's PostgreSQL connections: at most "
        f"{figures['events_db_connections_max']} with {len(panels)} streams (documented bound "
        f"{documented_bound()}), {connections_after} after they closed"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
