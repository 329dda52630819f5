"""Hostile partner benchmark: check-in tickets with 20 trickling webhook receivers vs none.

Against `make run`'s stack (web, worker, webhook worker, listener, RabbitMQ, PostgreSQL), in one
bench clinic (bench chain). Rounds alternate, each B check-ins paced at R per second:
  quiet    the clinic has no webhook subscription (the floor);
  hostile  20 subscriptions to `checkin.queued` whose receivers (a server of this process on
           127.0.0.1) accept the request and then send one byte of their answer every 5 s,
           never finishing, plus one healthy subscription answering 204 at once.
A check-in's time is from its POST to its ticket committed (benchmarks/checkin.py's watch).
The healthy receiver's time is from the event (`occurred_at`) to the request's arrival.
Counted in the database: lost = check-ins answered 202 without a ticket, plus events of the
healthy subscription not delivered by the end. Target: ticket p95 hostile ≤ 1.2× quiet, lost 0.
Ends with one JSON line; exits 1 when anything is lost. Subscriptions and partner clients are
removed and the bench clinic deactivated at the end.

Run: .venv/bin/python benchmarks/hostile_partner.py [--rounds 6] [--batch 40] [--rate 20]
     [--base-url http://127.0.0.1:$CLINICO_WEB_PORT]
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
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each kind, alternating")
    parser.add_argument("--batch", type=int, default=40, help="check-ins per round")
    parser.add_argument("--rate", type=float, default=20.0, help="check-ins per second")
    parser.add_argument("--hostile", type=int, default=20, help="trickling subscriptions")
    parser.add_argument("--trickle-every", type=float, default=5.0, help="seconds per byte")
    parser.add_argument("--clinic", default="bench_hostile", help="bench clinic slug")
    parser.add_argument("--base-url", default=None, help="the stack's web address")
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait at the end")
    return parser.parse_args()


class Trickler:
    """A TCP server that reads each request and answers one byte every `every` seconds."""

    def __init__(self, every: float):
        self.every = every
        self.stopped = threading.Event()
        self.open = 0
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with self.lock:
            self.open += 1
        try:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000:
                if self.stopped.wait(self.every):
                    return
                conn.sendall(bytes([byte]))
        except OSError:
            pass  # the sender gave up (its deadline): what it should do
        finally:
            conn.close()
            with self.lock:
                self.open -= 1

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()


class Healthy:
    """An HTTP receiver answering 204 at once; records each event's delay from `occurred_at`."""

    def __init__(self):
        self.delays_ms: dict[str, float] = {}
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                arrived = time.time()
                payload = json.loads(body)
                occurred = datetime.datetime.fromisoformat(payload["occurred_at"]).timestamp()
                with lock:
                    owner.delays_ms.setdefault(payload["id"], (arrived - occurred) * 1000)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    args = parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")
    import django

    django.setup()
    from benchmarks._bench import bench_clinics_deactivate
    from common.tenancy import tenant_connection

    try:
        figures = run(args)
    finally:
        tenant_connection.set_schema_to_public()
        bench_clinics_deactivate()
    print(json.dumps(figures))
    if figures["lost"]:
        sys.exit(1)


def run(args) -> dict:  # noqa: PLR0915
    from accounts.models import PartnerClient
    from accounts.services import partner_client_create
    from benchmarks._bench import (
        ClinicAuth,
        bench_clinic_ensure,
        bench_clinics_activate,
        bench_user_ensure,
        latency_summary,
        percentile,
        wait_until_served,
    )
    from benchmarks._db_checks import outcome_in_db, wait_settled
    from benchmarks._http_client import KeepAliveClient, default_base_url
    from benchmarks.checkin import BENCH_USER, FLOOR_PATH, CommitWatch, clinic_queue_empty
    from benchmarks.checkin import post_checkin
    from integrations.models import WebhookDelivery, WebhookSubscription
    from integrations.services import webhook_subscription_create, webhook_subscription_delete

    (clinic,) = bench_clinics_activate([bench_clinic_ensure(slug=args.clinic, name="Bench hostil")])
    user = bench_user_ensure(email=BENCH_USER, full_name="Bench Recepção")
    client = KeepAliveClient(args.base_url or default_base_url())
    clinic_queue_empty(clinic.schema_name)
    auth = ClinicAuth(user=user, clinic=clinic, role="receptionist")
    wait_until_served(client=client, auth=auth, path=FLOOR_PATH)
    target = {"schema": clinic.schema_name, "auth": auth}
    cap = 10  # subscriptions per owner: the hostile ones are spread over partner clients
    owners = [
        partner_client_create(name=f"Bench hostil {i}", clinics=[clinic], scope="read_write")[0]
        for i in range((args.hostile + cap - 1) // cap + 1)
    ]
    trickler, healthy = Trickler(args.trickle_every), Healthy()
    healthy_ids: list[int] = []

    def subscriptions_remove() -> None:
        with clinic:
            for subscription in WebhookSubscription.objects.all():
                webhook_subscription_delete(subscription=subscription)

    def subscriptions_hostile() -> None:
        with clinic:
            for i in range(args.hostile):
                webhook_subscription_create(
                    url=f"http://127.0.0.1:{trickler.port}/hook/{i}",
                    kinds=["checkin.queued"],
                    partner_client_id=owners[i // cap].client_id,
                )
            healthy_sub, _ = webhook_subscription_create(
                url=f"http://127.0.0.1:{healthy.port}/hook",
                kinds=["checkin.queued"],
                partner_client_id=owners[-1].client_id,
            )
            healthy_ids.append(healthy_sub.pk)

    first = int(time.time() * 1000) % 10**8 * 10
    numbers = iter(range(first, first + 10 * args.rounds * args.batch * 2 + 10))
    lock = threading.Lock()
    ticket_ms: dict[str, list[float]] = {"quiet": [], "hostile": []}
    posted: list[dict] = []
    delivered_count = {"healthy": 0}

    def paced_round(kind: str, pool: ThreadPoolExecutor) -> None:
        watch = CommitWatch()
        watch.start()
        start = time.perf_counter()

        def one(i: int) -> dict:
            delay = start + i / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            with lock:
                number = next(numbers)
            item = post_checkin(client, target, number)
            watch.add(schema=item["schema"], checkin_id=item["id"], started=item["started"])
            return item

        items = list(pool.map(one, range(args.batch)))
        deadline = time.monotonic() + args.wait
        while not watch.settled() and time.monotonic() < deadline:
            time.sleep(0.05)
        watch.stop()
        posted.extend(items)
        ticket_ms[kind].extend(watch.seen[i["id"]]["ms"] for i in items if i["id"] in watch.seen)

    try:
        subscriptions_remove()
        with ThreadPoolExecutor(max_workers=32) as pool:
            for round_number in range(args.rounds):
                for kind in ("quiet", "hostile"):
                    if kind == "hostile":
                        subscriptions_hostile()
                    paced_round(kind, pool)
                    if kind == "hostile":
                        in_flight = trickler.open
                        deadline = time.monotonic() + args.wait
                        while time.monotonic() < deadline:  # the healthy one's events, all
                            with clinic:
                                waiting = WebhookDelivery.objects.filter(
                                    subscription_id=healthy_ids[-1], status="pending"
                                ).count()
                            if not waiting:
                                break
                            time.sleep(0.1)
                        with clinic:
                            delivered_count["healthy"] += WebhookDelivery.objects.filter(
                                subscription_id=healthy_ids[-1], status="delivered"
                            ).count()
                        subscriptions_remove()
                    else:
                        in_flight = 0
                    done = latency_summary(ticket_ms[kind][-args.batch :])
                    print(
                        f"round {round_number + 1} {kind:7}: ticket p50 {done['p50']} ms, "
                        f"p95 {done['p95']} ms ({in_flight} trickling sends open)",
                        flush=True,
                    )
        wait_settled([clinic.schema_name], args.wait)
        outcome = outcome_in_db(schema=clinic.schema_name, posted=posted)
    finally:
        subscriptions_remove()
        trickler.stop()
        healthy.stop()
        PartnerClient.objects.filter(pk__in=[owner.pk for owner in owners]).delete()

    hostile_checkins = args.rounds * args.batch
    healthy_lost = hostile_checkins - delivered_count["healthy"]
    quiet_p95 = round(percentile(ticket_ms["quiet"], 95), 1)
    hostile_p95 = round(percentile(ticket_ms["hostile"], 95), 1)
    delays = list(healthy.delays_ms.values())
    healthy_p95 = round(percentile(delays, 95), 1) if delays else None
    ratio = hostile_p95 / quiet_p95 if quiet_p95 else float("inf")
    print(
        f"ticket p95 with {args.hostile} trickling subscriptions {hostile_p95} ms vs quiet "
        f"(floor, same run, alternating rounds) {quiet_p95} ms: {ratio:.2f}× (target ≤ 1.2×); "
        f"healthy subscription event → receiver p95 {healthy_p95} ms over {len(delays)} events; "
        f"lost {outcome['lost']} check-ins, {healthy_lost} healthy deliveries"
    )
    return {
        "bench": "hostile_partner",
        "ticket_p95_ms_quiet": quiet_p95,
        "ticket_p95_ms_hostile": hostile_p95,
        "ratio": round(ratio, 3),
        "healthy_delivery_p95_ms": healthy_p95,
        "healthy_delivered": delivered_count["healthy"],
        "lost": outcome["lost"] + healthy_lost,
        "duplicates": outcome["duplicates"],
    }


if __name__ == "__main__":
    main()
