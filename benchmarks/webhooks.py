"""Webhook benchmark against `make run`'s stack: listener, worker, RabbitMQ, PostgreSQL, web.

Twenty bench clinics (bench chain) each subscribe a local receiver (an HTTP server in this
process, on a free port) to `ticket.called`. Events are written to the clinics' streams in
batches, alternating with floor batches:
  floor     B check-in POSTs at concurrency C on a bench clinic with no subscription, as fast
            as they are answered 202: the check-in acceptance rate of this machine right now.
  burst     half the events, in batches of E written round-robin over the twenty clinics by C
            threads (each event its own transaction; several events per ticket, so per-ticket
            order matters), then wait until the receiver has them all; deliveries per second
            are the batch's events over first write to last arrival.
  paced     the other half at half the bursts' median delivery rate, in batches of E: the
            event-to-delivery time of a stack that keeps up. An event's delivery time runs
            from its `at` (taken just before its INSERT commits) to its arrival at the
            receiver (through the listener, RabbitMQ and a worker).
Figures: the medians of the batches' rates; delivery p50/p95/p99 of the paced events (the
bursts' are printed beside them: they include the wait behind the burst). Counted in
the database once everything settled: lost = events written that have no delivered delivery;
duplicates = events the receiver got more than once (allowed, at least once; printed). Ends
with one JSON line; exits 1 when anything is lost.

Run: .venv/bin/python benchmarks/webhooks.py [-n 2000] [--clinics 20] [--batch 250]
     [--floor-batch 60] [-c 8] [--base-url http://127.0.0.1:$CLINICO_WEB_PORT]
"""

import sys  # noqa: I001
from pathlib import Path

# benchmarks/queue.py sits beside this script: keep this folder off sys.path so `import queue`
# finds the standard library module.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import datetime
import json
import math
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from validate_docbr import CPF  # noqa: E402

from benchmarks._bench import (  # noqa: E402
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
from benchmarks._http_client import KeepAliveClient, default_base_url  # noqa: E402
from events.services import event_record  # noqa: E402
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription  # noqa: E402
from integrations.services import webhook_subscription_create  # noqa: E402

BENCH_USER = "bench-recepcao@clinico.demo"
FLOOR_CLINIC = "bench_webhooks_floor"
EVENTS_PER_TICKET = 4


class Receiver:
    """Records each event's first arrival time (and counts repeats) on a free local port."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.lock = threading.Lock()
        self.arrived: dict[str, tuple[float, dict]] = {}
        self.repeats = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                payload = json.loads(body)
                with owner.lock:
                    if payload["id"] in owner.arrived:
                        owner.repeats += 1
                    else:
                        owner.arrived[payload["id"]] = (now, payload)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def count(self) -> int:
        with self.lock:
            return len(self.arrived)


def cpf_for(number: int) -> str:
    generator = CPF()
    digits = list(f"{number % 10**9:09d}")
    if len(set(digits)) == 1:
        digits[0] = str((int(digits[0]) + 1) % 10)
    digits.append(generator._generate_first_digit(digits))
    digits.append(generator._generate_second_digit(digits))
    return "".join(digits)


def subscriptions_reset(clinics, url: str) -> None:
    """Each clinic's earlier subscriptions (and their logs) removed; one to `url`."""
    for clinic in clinics:
        with clinic:
            WebhookSubscription.objects.all().delete()
            webhook_subscription_create(
                url=url, kinds=["ticket.called"], description="benchmarks/webhooks.py"
            )
    connection.set_schema_to_public()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="events in all")
    parser.add_argument("--clinics", type=int, default=20, help="bench clinics subscribed")
    parser.add_argument("--batch", type=int, default=250, help="events per measured batch")
    parser.add_argument("--floor-batch", type=int, default=60, help="check-ins per floor batch")
    parser.add_argument("-c", type=int, default=8, help="concurrent writers and clients")
    parser.add_argument("--base-url", default=default_base_url())
    parser.add_argument("--wait", type=float, default=180, help="seconds to wait per batch")
    args = parser.parse_args()
    try:
        figures = run(args)
    finally:
        connection.set_schema_to_public()
        bench_clinics_deactivate()
    print(json.dumps(figures))
    if figures["lost"]:
        sys.exit(1)


def run(args) -> dict:
    slugs = [f"bench_webhooks_{i:02d}" for i in range(1, args.clinics + 1)]
    clinics = bench_clinics_activate(
        [bench_clinic_ensure(slug=slug, name=f"Bench {slug}") for slug in slugs]
        + [bench_clinic_ensure(slug=FLOOR_CLINIC, name="Bench webhooks floor")]
    )
    floor_clinic, clinics = clinics[-1], clinics[:-1]
    receiver = Receiver()
    subscriptions_reset(clinics, receiver.url)
    with floor_clinic:
        WebhookSubscription.objects.all().delete()
    connection.set_schema_to_public()
    user = bench_user_ensure(email=BENCH_USER, full_name="Bench Recepção")
    client = KeepAliveClient(args.base_url)
    auth = ClinicAuth(user=user, clinic=floor_clinic, role="receptionist")
    wait_until_served(client=client, auth=auth, path="/api/v1/me/")

    lock = threading.Lock()
    first = int(time.time() * 1000) % 10**8 * 10
    numbers = iter(range(first, first + 10 * args.n + 10))
    written: dict[str, list[int]] = {c.schema_name: [] for c in clinics}
    floor_rates: list[float] = []
    delivery_rates: list[float] = []

    def floor_batch(_: int) -> None:
        def one(_i: int) -> None:
            with lock:
                number = next(numbers)
            body = {
                "cpf": cpf_for(number),
                "patient": {"full_name": f"Paciente {number}", "birth_date": "1985-04-02"},
            }
            response = client.post("/api/v1/check-ins/", headers=auth.headers(), json_body=body)
            assert response.status_code == 202, (response.status_code, response.text[:300])

        started = time.perf_counter()
        list(pool.map(one, range(args.floor_batch)))
        floor_rates.append(args.floor_batch / (time.perf_counter() - started))

    phase_ids: dict[str, set[str]] = {"burst": set(), "paced": set()}

    def measured_batch(batch_index: int, *, phase: str, rate: float | None = None) -> None:
        size = min(args.batch, budget[phase])
        budget[phase] -= size
        if size <= 0:
            return
        expected = receiver.count() + size
        started = time.perf_counter()

        def write(i: int) -> None:
            if rate is not None:  # paced: the i-th event at i / rate seconds
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            clinic = clinics[i % len(clinics)]
            # Events of one ticket go to one clinic: per-ticket order is part of the work.
            ticket_id = (
                10**7 * (1 + (phase == "paced"))
                + 10**5 * batch_index
                + i // (len(clinics) * EVENTS_PER_TICKET)
            )
            with clinic:
                event_id = event_record(
                    kind="ticket.called", ticket_id=ticket_id, data={"bench": True}
                )
            with lock:
                written[clinic.schema_name].append(event_id)
                phase_ids[phase].add(f"{clinic.schema_name}.{event_id}")

        started_wall = time.time()
        list(pool.map(write, range(size)))
        deadline = time.monotonic() + args.wait
        while receiver.count() < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        with receiver.lock:
            last = max(at for at, _p in receiver.arrived.values())
        if phase == "burst":
            delivery_rates.append(size / max(last - started_wall, 1e-6))

    half = args.n // 2
    budget = {"burst": half, "paced": args.n - half}
    rounds = max(1, math.ceil(half / args.batch))
    with ThreadPoolExecutor(max_workers=args.c) as pool:
        interleaved(
            rounds=rounds,
            floor=floor_batch,
            measured=lambda i: measured_batch(i, phase="burst"),
        )
        pace = median(delivery_rates) / 2
        paced_rounds = max(1, math.ceil(budget["paced"] / args.batch))
        interleaved(
            rounds=paced_rounds,
            floor=floor_batch,
            measured=lambda i: measured_batch(i, phase="paced", rate=pace),
        )

    # Everything settled: what the database says was delivered, beside what was written.
    delivered = 0
    deadline = time.monotonic() + args.wait
    for clinic in clinics:
        ids = written[clinic.schema_name]
        with clinic:
            while True:
                done = WebhookDelivery.objects.filter(
                    event_id__in=ids, status=DeliveryStatus.DELIVERED
                ).count()
                if done == len(ids) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        delivered += done
    connection.set_schema_to_public()
    events = sum(len(ids) for ids in written.values())
    with receiver.lock:
        arrivals = dict(receiver.arrived)

    def delivery_ms(phase: str) -> list[float]:
        return [
            (at - datetime.datetime.fromisoformat(payload["occurred_at"]).timestamp()) * 1000
            for event_id, (at, payload) in arrivals.items()
            if event_id in phase_ids[phase]
        ]

    latency = latency_summary(delivery_ms("paced"), digits=1)
    burst = latency_summary(delivery_ms("burst"), digits=1)
    deliveries_per_s, floor_per_s = median(delivery_rates), median(floor_rates)
    print(
        f"{events} events over {len(clinics)} clinics: {half} in {rounds} bursts of up to "
        f"{args.batch}, then the rest paced at {pace:.1f}/s (half the bursts' delivery rate), "
        f"each batch between floor batches of {args.floor_batch} check-ins (concurrency "
        f"{args.c})\n"
        f"event to delivery, paced  p50 {latency['p50']} ms  p95 {latency['p95']} ms  "
        f"p99 {latency['p99']} ms\n"
        f"event to delivery, bursts p50 {burst['p50']} ms  p95 {burst['p95']} ms  "
        f"p99 {burst['p99']} ms (queued behind the burst)\n"
        f"deliveries/s {deliveries_per_s:.1f}  beside check-ins accepted/s {floor_per_s:.1f} "
        f"(ratio {deliveries_per_s / floor_per_s:.2f})\n"
        f"delivered (database) {delivered} of {events}; receiver got {len(arrivals)} events, "
        f"{receiver.repeats} repeats"
    )
    receiver.server.shutdown()
    return {
        "bench": "webhooks",
        "events": events,
        "clinics": len(clinics),
        "delivered": delivered,
        "lost": events - delivered,
        "duplicates": receiver.repeats,
        "delivery_p50_ms": latency["p50"],
        "delivery_p95_ms": latency["p95"],
        "delivery_p99_ms": latency["p99"],
        "deliveries_per_s": round(deliveries_per_s, 1),
        "floor_per_s": round(floor_per_s, 1),
        "deliveries_vs_floor": round(deliveries_per_s / floor_per_s, 2),
        "paced_per_s": round(pace, 1),
        "burst_delivery_p50_ms": burst["p50"],
        "burst_delivery_p95_ms": burst["p95"],
    }


if __name__ == "__main__":
    main()
