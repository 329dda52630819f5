"""Call-next benchmark against a running server (`make run`'s gunicorn, or any --base-url).

One run, one server:
  setup    a bench clinic (provisioned when missing) with D desks on its reception and T waiting
           tickets bulk-inserted in SQL (mixed priority tiers, one patient each, ISSUED events);
           EXPLAIN ANALYZE of call-next's locking query on that queue (must use the partial
           index ticket_waiting_call_order);
  floor    D threads of trivial authenticated GETs: the server's floor latency;
  call     D desks calling concurrently: each POSTs call-next (timed) then marks the ticket a
           no-show (not timed) so the desk may call again, until N calls in all.
double_calls counts tickets handed out more than once (by the answers and by the CALLED events).
Floor and calls go through the same lean keep-alive client (benchmarks/_http_client.py).
Ends with one JSON line.

Run: .venv/bin/python benchmarks/queue.py [--tickets 10000] [--desks 5] [--calls 2000]
     [--floor-requests 1000] [--base-url http://127.0.0.1:8000]
"""

import sys
from pathlib import Path

# This file is named queue.py: keep its folder off sys.path so `import queue` (used by
# concurrent.futures and urllib3) finds the standard library module, not this script.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import requests  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from accounts.models import User  # noqa: E402
from benchmarks._http_client import KeepAliveClient  # noqa: E402
from accounts.services import clinic_membership_grant, user_create  # noqa: E402
from queueing.clock import service_day_today  # noqa: E402
from queueing.models import Desk, Service, Ticket, TicketStatus  # noqa: E402
from queueing.services.setup import desk_create  # noqa: E402
from tenants.models import Chain, Clinic  # noqa: E402
from tenants.selectors import clinic_hostname  # noqa: E402
from tenants.services import chain_create, clinic_provision  # noqa: E402

PASSWORD = "clinico-demo"
BENCH_USER = "bench-guiche@clinico.demo"
BENCH_SLUG = "bench_queue"


def clinic_ensure() -> tuple[Clinic, User]:
    chain = Chain.objects.filter(slug="demo").first() or chain_create(
        name="Rede Saúde Demo", slug="demo"
    )
    user = User.objects.filter(email=BENCH_USER).first() or user_create(
        email=BENCH_USER, password=PASSWORD, full_name="Bench Guichê"
    )
    clinic = Clinic.objects.filter(schema_name=BENCH_SLUG).first() or clinic_provision(
        chain=chain, name="Bench Fila", slug=BENCH_SLUG, timezone="America/Sao_Paulo"
    )
    clinic_membership_grant(user=user, clinic=clinic, role="receptionist")
    return clinic, user


def queue_fill(*, clinic: Clinic, tickets: int, desks: int) -> list[int]:
    """A fresh queue of `tickets` waiting tickets today and `desks` desks; the desks' ids."""
    with clinic, transaction.atomic(), connection.cursor() as cursor:
        reception = Service.objects.get(is_default=True)
        cursor.execute(
            "TRUNCATE queueing_ticketevent, queueing_checkin, queueing_ticket, "
            "queueing_ticketcounter, patients_patient CASCADE"
        )
        Desk.objects.all().delete()
        desk_ids = [
            desk_create(name=f"Guichê {i}", service_ids=[reception.pk]).pk
            for i in range(1, desks + 1)
        ]
        day = service_day_today()
        cursor.execute(
            """
            INSERT INTO patients_patient
                (cpf, full_name, social_name, birth_date, phone, email, created_at, updated_at)
            SELECT lpad(g::text, 11, '0'), 'Paciente ' || g, '',
                   date '1940-01-01' + (g * 7919 %% 25000), '', '', now(), now()
            FROM generate_series(1, %(n)s) AS g
            """,
            {"n": tickets},
        )
        # Tiers as a busy clinic sees them: ~3% 80+, ~10% priority, ~2% blood donors.
        cursor.execute(
            """
            INSERT INTO queueing_ticket
                (service_id, service_day, number, display_code, patient_id, priority_tier,
                 priority_reason, status, arrived_at, issued_at, recall_count, cancel_reason)
            SELECT %(service)s, %(day)s, g, %(prefix)s || lpad(g::text, 3, '0'), p.id,
                   CASE WHEN g %% 33 = 0 THEN 0 WHEN g %% 10 = 0 THEN 1
                        WHEN g %% 50 = 1 THEN 2 ELSE 3 END,
                   CASE WHEN g %% 33 = 0 THEN 'age_80' WHEN g %% 10 = 0 THEN 'pregnant'
                        WHEN g %% 50 = 1 THEN 'blood_donor' ELSE '' END,
                   'waiting',
                   now() - (%(n)s - g) * interval '100 milliseconds',
                   now() - (%(n)s - g) * interval '100 milliseconds',
                   0, ''
            FROM generate_series(1, %(n)s) AS g
            JOIN patients_patient p ON p.cpf = lpad(g::text, 11, '0')
            """,
            {"service": reception.pk, "day": day, "prefix": reception.prefix, "n": tickets},
        )
        cursor.execute(
            """
            INSERT INTO queueing_ticketevent
                (ticket_id, kind, at, from_status, to_status, partner_client_id, detail)
            SELECT id, 'issued', issued_at, '', 'waiting', '', '{}'::jsonb FROM queueing_ticket
            """
        )
        cursor.execute(
            "INSERT INTO queueing_ticketcounter (service_id, service_day, last_number) "
            "VALUES (%s, %s, %s)",
            [reception.pk, day, tickets],
        )
    with clinic, connection.cursor() as cursor:
        cursor.execute("ANALYZE queueing_ticket; ANALYZE queueing_ticketevent")
    connection.set_schema_to_public()
    return desk_ids


def call_next_plan(*, clinic: Clinic) -> str:
    """EXPLAIN ANALYZE of call-next's locking query (rolled back: nothing stays locked)."""
    with clinic:
        reception = Service.objects.get(is_default=True)
        query = (
            Ticket.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(service_day=service_day_today(), status=TicketStatus.WAITING)
            .filter(service_id__in=[reception.pk])
            .order_by("priority_tier", "arrived_at", "id")[:1]
        )
        with transaction.atomic():
            plan = query.explain(analyze=True)
            transaction.set_rollback(True)
    connection.set_schema_to_public()
    return plan


_client: KeepAliveClient | None = None


def client() -> KeepAliveClient:
    return _client


def authenticate(*, base_url: str, host: str, clinic: Clinic, user: User) -> dict:
    """Headers for the bench user on `host`: a JWT from the API, else one minted Django-side."""
    response = requests.post(
        f"{base_url}/api/v1/auth/token/",
        json={"email": BENCH_USER, "password": PASSWORD},
        headers={"Host": host},
        timeout=10,
    )
    if response.status_code == 200:
        return {"Host": host, "Authorization": f"Bearer {response.json()['access']}"}
    from accounts.tokens import clinic_token_issue

    token = clinic_token_issue(user=user, clinic=clinic, role="receptionist").access_token
    return {"Host": host, "Authorization": f"Bearer {token}"}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def run_floor(*, base_url: str, headers: dict, path: str, n: int, c: int) -> list[float]:
    def one(_):
        started = time.perf_counter()
        response = client().get(path, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (response.status_code, response.text[:200])
        return elapsed

    with ThreadPoolExecutor(max_workers=c) as pool:
        return list(pool.map(one, range(n)))


def run_desks(
    *, base_url: str, headers: dict, desk_ids: list[int], calls: int
) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    called: list[int] = []
    lock = threading.Lock()
    remaining = [calls]

    def desk_loop(desk_id: int) -> None:
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            started = time.perf_counter()
            response = client().post(f"/api/v1/desks/{desk_id}/call-next/", headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (response.status_code, response.text[:300])
            ticket = response.json()["ticket"]
            if ticket is None:
                return
            with lock:
                latencies.append(elapsed)
                called.append(ticket["id"])
            freed = client().post(f"/api/v1/tickets/{ticket['id']}/no-show/", headers=headers)
            assert freed.status_code == 200, (freed.status_code, freed.text[:300])

    with ThreadPoolExecutor(max_workers=len(desk_ids)) as pool:
        list(pool.map(desk_loop, desk_ids))
    return latencies, called


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000, help="waiting tickets")
    parser.add_argument("--desks", type=int, default=5, help="desks calling concurrently")
    parser.add_argument("--calls", type=int, default=2_000, help="call-next requests in all")
    parser.add_argument("--floor-requests", type=int, default=1_000)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    args = parser.parse_args()

    clinic, user = clinic_ensure()
    host = clinic_hostname(clinic=clinic)
    desk_ids = queue_fill(clinic=clinic, tickets=args.tickets, desks=args.desks)
    plan = call_next_plan(clinic=clinic)
    index_driven = "ticket_waiting_call_order" in plan and "Sort" not in plan
    headers = authenticate(base_url=args.base_url, host=host, clinic=clinic, user=user)

    floor_path = "/api/v1/me/"
    global _client
    _client = KeepAliveClient(args.base_url)
    probe = client().get(floor_path, headers=headers)
    if probe.status_code != 200:
        floor_path = "/api/v1/services/"  # until /me/ exists: one small authenticated read
    run_floor(base_url=args.base_url, headers=headers, path=floor_path, n=100, c=args.desks)
    floor = run_floor(
        base_url=args.base_url,
        headers=headers,
        path=floor_path,
        n=args.floor_requests,
        c=args.desks,
    )
    latencies, called = run_desks(
        base_url=args.base_url, headers=headers, desk_ids=desk_ids, calls=args.calls
    )

    doubles_by_answer = sum(1 for n in Counter(called).values() if n > 1)
    with clinic, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT ticket_id FROM queueing_ticketevent "
            "WHERE kind = 'called' GROUP BY ticket_id HAVING count(*) > 1) AS twice"
        )
        doubles_by_events = cursor.fetchone()[0]
    connection.set_schema_to_public()

    figures = {
        "bench": "queue",
        "tickets": args.tickets,
        "desks": args.desks,
        "calls": len(latencies),
        "call_next_p50_ms": round(percentile(latencies, 50), 2),
        "call_next_p95_ms": round(percentile(latencies, 95), 2),
        "call_next_p99_ms": round(percentile(latencies, 99), 2),
        "floor_p50_ms": round(percentile(floor, 50), 2),
        "floor_p95_ms": round(percentile(floor, 95), 2),
        "floor_path": floor_path,
        "double_calls": max(doubles_by_answer, doubles_by_events),
        "index_driven": index_driven,
    }
    figures["p95_vs_floor"] = round(figures["call_next_p95_ms"] / figures["floor_p95_ms"], 2)
    print("call-next plan on the bench queue:")
    print("  " + plan.replace("\n", "\n  "))
    print(
        f"floor (GET {floor_path}, {args.desks} threads, {len(floor)} requests): "
        f"p50 {figures['floor_p50_ms']} ms, p95 {figures['floor_p95_ms']} ms"
    )
    print(
        f"call-next ({args.desks} desks, {len(latencies)} calls on {args.tickets} waiting): "
        f"p50 {figures['call_next_p50_ms']} ms, p95 {figures['call_next_p95_ms']} ms, "
        f"p99 {figures['call_next_p99_ms']} ms ({figures['p95_vs_floor']} × floor p95); "
        f"double calls {figures['double_calls']}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
