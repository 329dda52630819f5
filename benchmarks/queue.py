"""Call-next benchmark against a running server (`make run`'s gunicorn, or any --base-url).

Three cases, one after the other, each on a fresh queue of the bench clinic `bench_queue`:
  one_service     D desks serving one service (strict priority order);
  three_services  D desks each serving three services: the pick reads `service_id IN (a, b, c)`;
  interleave      D desks serving one service with the interleave policy (a normal ticket after
                  N priority calls: an advisory lock and a read of the latest calls per call).
Each case:
  setup    T waiting tickets bulk-inserted in SQL across the case's services (mixed priority
           tiers, one patient each, ISSUED events), D desks;
  plan     call-next run once in the bench process inside a transaction that is rolled back,
           its statements captured from the connection exactly as they ran (text and parameters),
           then each replayed under EXPLAIN (ANALYZE, BUFFERS) in a second rolled-back
           transaction. The pick is the statement that locks with FOR UPDATE SKIP LOCKED
           (ticket_sql.ticket_call_first_waiting; the benchmark stops if call-next runs none)
           and its plan should walk ticket_waiting_call_order, sorting no more rows per step than
           the desk has services (a desk of several services merges their heads). Printed
           before and after the timed calls;
  timed    batches in turn: floor, calls, floor, calls, … , floor. A floor batch is D threads of
           a trivial authenticated GET (/api/v1/me/); a calls batch is the D desks each POSTing
           call-next (timed) then marking the ticket a no-show (not timed) so it may call again.
           Both go through the same lean keep-alive connections (benchmarks/_http_client.py);
  checks   in the database: tickets called twice or by two desks (CALLED events), answers with
           no CALLED event, and for the interleave case the calls out of the policy's pattern.
The JSON line's top-level figures are the case with the highest call-next p95, beside that case's
floor; every case's figures are under "cases".

Run: .venv/bin/python benchmarks/queue.py [--tickets 10000] [--desks 5] [--calls 2000]
     [--batch 100] [--interleave-after 2] [--cases one_service,three_services,interleave]
     [--base-url http://127.0.0.1:$CLINICO_WEB_PORT]
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
import math  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from benchmarks._bench import (  # noqa: E402
    ClinicAuth,
    bench_clinic_ensure,
    bench_clinics_activate,
    bench_clinics_deactivate,
    bench_user_ensure,
    interleaved,
    latency_summary,
    run_batch,
    wait_until_served,
)
from benchmarks._db_checks import calls_in_db, interleave_violations  # noqa: E402
from benchmarks._explain import (  # noqa: E402
    call_next_explained,
    pick_walks_index,
    print_explained,
    rows_sorted,
)
from benchmarks._http_client import KeepAliveClient, default_base_url  # noqa: E402
from queueing.clock import service_day_today  # noqa: E402
from queueing.models import Desk, PriorityPolicy, Service  # noqa: E402
from queueing.services.setup import desk_create, service_create, service_update  # noqa: E402

BENCH_USER = "bench-guiche@clinico.demo"
BENCH_SLUG = "bench_queue"
FLOOR_PATH = "/api/v1/me/"
CASES = {
    "one_service": "desks serving one service",
    "three_services": "desks serving three services",
    "interleave": "desks serving one interleaved service",
}
# (name, prefix) of the services the cases use besides the clinic's default one.
EXTRA_SERVICES = [("Triagem", "T"), ("Consulta", "C")]
INTERLEAVED_SERVICE = ("Intercalado", "I")


def case_services(*, case: str, interleave_after: int) -> list[Service]:
    """The services the case's desks serve, created (and set to the case's policy) when needed."""
    by_prefix = {service.prefix: service for service in Service.objects.all()}
    default = Service.objects.get(is_default=True)
    if case == "one_service":
        return [default]
    if case == "three_services":
        for name, prefix in EXTRA_SERVICES:
            if prefix not in by_prefix:
                by_prefix[prefix] = service_create(name=name, prefix=prefix)
        return [default] + [by_prefix[prefix] for _, prefix in EXTRA_SERVICES]
    name, prefix = INTERLEAVED_SERVICE
    service = by_prefix.get(prefix) or service_create(name=name, prefix=prefix)
    return [
        service_update(
            service=service,
            priority_policy=PriorityPolicy.INTERLEAVE,
            interleave_after=interleave_after,
        )
    ]


def queue_fill(*, services: list[Service], tickets: int, desks: int) -> list[int]:
    """A fresh queue of `tickets` waiting tickets today over `services`; the new desks' ids.

    Run inside the clinic. Tickets go to the services in turn; tiers as a busy clinic sees
    them: ~3% 80+, ~10% priority, ~2% blood donors, the rest normal.
    """
    service_ids = [service.pk for service in services]
    prefixes = [service.prefix for service in services]
    day = service_day_today()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE queueing_ticketevent, queueing_checkin, queueing_ticket, "
            "queueing_ticketcounter, patients_patient CASCADE"
        )
        Desk.objects.all().delete()
        desk_ids = [
            desk_create(name=f"Guichê {i}", service_ids=service_ids).pk for i in range(1, desks + 1)
        ]
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
        cursor.execute(
            """
            INSERT INTO queueing_ticket
                (service_id, service_day, number, display_code, patient_id, priority_tier,
                 priority_reason, status, arrived_at, rank_at, issued_at, recall_count,
                 cancel_reason)
            SELECT (%(services)s::int[])[1 + g %% %(k)s], %(day)s, g,
                   (%(prefixes)s::text[])[1 + g %% %(k)s] || lpad(g::text, 3, '0'), p.id,
                   CASE WHEN g %% 33 = 0 THEN 0 WHEN g %% 10 = 0 THEN 1
                        WHEN g %% 50 = 1 THEN 2 ELSE 3 END,
                   CASE WHEN g %% 33 = 0 THEN 'age_80' WHEN g %% 10 = 0 THEN 'pregnant'
                        WHEN g %% 50 = 1 THEN 'blood_donor' ELSE '' END,
                   'waiting',
                   now() - (%(n)s - g) * interval '100 milliseconds',
                   now() - (%(n)s - g) * interval '100 milliseconds',
                   now() - (%(n)s - g) * interval '100 milliseconds',
                   0, ''
            FROM generate_series(1, %(n)s) AS g
            JOIN patients_patient p ON p.cpf = lpad(g::text, 11, '0')
            """,
            {
                "services": service_ids,
                "prefixes": prefixes,
                "k": len(services),
                "day": day,
                "n": tickets,
            },
        )
        cursor.execute(
            """
            INSERT INTO queueing_ticketevent
                (ticket_id, kind, at, from_status, to_status, partner_client_id, detail)
            SELECT id, 'issued', issued_at, '', 'waiting', '', '{}'::jsonb FROM queueing_ticket
            """
        )
        cursor.execute(
            """
            INSERT INTO queueing_ticketcounter (service_id, service_day, last_number)
            SELECT service_id, service_day, max(number) FROM queueing_ticket
            GROUP BY service_id, service_day
            """
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE queueing_ticket; ANALYZE queueing_ticketevent")
    return desk_ids


def run_case(*, case: str, clinic, auth: ClinicAuth, client: KeepAliveClient, args) -> dict:
    with clinic:
        services = case_services(case=case, interleave_after=args.interleave_after)
        desk_ids = queue_fill(services=services, tickets=args.tickets, desks=args.desks)
        before = call_next_explained(desk_id=desk_ids[0])
    print(
        f"\n== {case}: {args.desks} {CASES[case]} "
        f"({', '.join(f'{s.name} {s.prefix} {s.priority_policy}' for s in services)}), "
        f"{args.tickets} waiting"
    )
    print("call-next's statements on the fresh queue, as they ran (EXPLAIN ANALYZE, rolled back):")
    print_explained(before, with_sql=True)

    floor: list[float] = []
    calls: list[float] = []
    called: list[int] = []
    lock = threading.Lock()
    rounds = max(1, math.ceil(args.calls / args.batch))
    # Each calls batch takes what is left of --calls; each floor batch as many requests.
    budget = {"calls": args.calls}

    def floor_batch(_: int, *, record: bool = True) -> None:
        remaining = [args.batch]

        def loop(_: int) -> None:
            while True:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                started = time.perf_counter()
                response = client.get(FLOOR_PATH, headers=auth.headers())
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (response.status_code, response.text[:200])
                if record:
                    with lock:
                        floor.append(elapsed)

        run_batch(pool, args.desks, loop)

    def calls_batch(_: int) -> None:
        remaining = [min(args.batch, budget["calls"])]
        budget["calls"] -= remaining[0]

        def loop(index: int) -> None:
            desk_id = desk_ids[index]
            while True:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                headers = auth.headers()
                started = time.perf_counter()
                response = client.post(f"/api/v1/desks/{desk_id}/call-next/", headers=headers)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (response.status_code, response.text[:300])
                ticket = response.json()["ticket"]
                if ticket is None:
                    return
                with lock:
                    calls.append(elapsed)
                    called.append(ticket["id"])
                freed = client.post(f"/api/v1/tickets/{ticket['id']}/no-show/", headers=headers)
                assert freed.status_code == 200, (freed.status_code, freed.text[:300])

        run_batch(pool, args.desks, loop)

    with ThreadPoolExecutor(max_workers=args.desks) as pool:
        # Warm-up: connections opened, the web's first requests on this clinic served.
        floor_batch(0, record=False)
        interleaved(rounds=rounds, floor=floor_batch, measured=calls_batch)

    with clinic:
        after = call_next_explained(desk_id=desk_ids[0])
        in_db = calls_in_db()
        violations = interleave_violations(service=services[0]) if case == "interleave" else None
    print("call-next's plans after the timed calls:")
    print_explained(after, with_sql=False)

    answered_twice = sum(1 for n in Counter(called).values() if n > 1)
    call_ms = latency_summary(calls)
    floor_ms = latency_summary(floor)
    figures = {
        "desks": args.desks,
        "services": len(services),
        "calls": call_ms["n"],
        "floor_samples": floor_ms["n"],
        "call_next_p50_ms": call_ms["p50"],
        "call_next_p95_ms": call_ms["p95"],
        "call_next_p99_ms": call_ms["p99"],
        "floor_p50_ms": floor_ms["p50"],
        "floor_p95_ms": floor_ms["p95"],
        "p50_vs_floor": round(call_ms["p50"] / floor_ms["p50"], 2),
        "p95_vs_floor": round(call_ms["p95"] / floor_ms["p95"], 2),
        # Counted in the database; answers given twice are a second witness.
        "double_calls": max(in_db["double"], answered_twice),
        "called_twice": in_db["called_twice"],
        "called_by_two_desks": in_db["two_desks"],
        "calls_without_event": len(set(called) - in_db["tickets"]),
        "index_driven": pick_walks_index(before, services=len(services))
        and pick_walks_index(after, services=len(services)),
        # After the timed calls: what each sorting statement sorts by now.
        "rows_sorted_per_call": rows_sorted(after),
    }
    if violations is not None:
        figures["interleave_after"] = args.interleave_after
        figures["interleave_violations"] = violations
    print(
        f"{case}: call-next p50 {call_ms['p50']} ms, p95 {call_ms['p95']} ms, "
        f"p99 {call_ms['p99']} ms ({call_ms['n']} calls) | floor GET {FLOOR_PATH} "
        f"p50 {floor_ms['p50']} ms, p95 {floor_ms['p95']} ms ({floor_ms['n']} requests, "
        f"{rounds + 1} batches around {rounds} batches of calls) | p50 {figures['p50_vs_floor']}×, "
        f"p95 {figures['p95_vs_floor']}× floor"
    )
    print(
        f"{case}: double calls {figures['double_calls']} (called twice {in_db['called_twice']}, "
        f"by two desks {in_db['two_desks']}, answers without a CALLED event "
        f"{figures['calls_without_event']}); pick walks ticket_waiting_call_order without "
        f"sorting the queue: {figures['index_driven']}; rows sorted per call after the timed "
        "calls: "
        + ("; ".join(f"{k}: {v:,}" for k, v in figures["rows_sorted_per_call"].items()) or "none")
        + (f"; calls off the interleave pattern: {violations}" if violations is not None else "")
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000, help="waiting tickets per case")
    parser.add_argument("--desks", type=int, default=5, help="desks calling concurrently")
    parser.add_argument("--calls", type=int, default=2_000, help="call-next requests per case")
    parser.add_argument(
        "--batch", type=int, default=100, help="calls per batch (and requests per floor batch)"
    )
    parser.add_argument("--interleave-after", type=int, default=2, help="N of the interleave case")
    parser.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated, of: " + ", ".join(CASES)
    )
    parser.add_argument("--base-url", default=default_base_url())
    args = parser.parse_args()
    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    unknown = [case for case in cases if case not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")

    try:
        clinic = bench_clinic_ensure(slug=BENCH_SLUG, name="Bench Fila")
        (clinic,) = bench_clinics_activate([clinic])
        user = bench_user_ensure(email=BENCH_USER, full_name="Bench Guichê")
        auth = ClinicAuth(user=user, clinic=clinic, role="receptionist")
        client = KeepAliveClient(args.base_url)
        wait_until_served(client=client, auth=auth, path=FLOOR_PATH)
        results = {
            case: run_case(case=case, clinic=clinic, auth=auth, client=client, args=args)
            for case in cases
        }
    finally:
        connection.set_schema_to_public()
        bench_clinics_deactivate()

    worst = max(results, key=lambda case: results[case]["call_next_p95_ms"])
    figures = {
        "bench": "queue",
        "tickets": args.tickets,
        "desks": args.desks,
        "calls_per_case": args.calls,
        "batch": args.batch,
        "worst_case": worst,
        **{
            key: results[worst][key]
            for key in (
                "call_next_p50_ms",
                "call_next_p95_ms",
                "call_next_p99_ms",
                "floor_p50_ms",
                "floor_p95_ms",
                "p95_vs_floor",
            )
        },
        "double_calls": sum(r["double_calls"] for r in results.values()),
        "floor_path": FLOOR_PATH,
        "cases": results,
    }
    print(
        f"\nworst case {worst}: call-next p95 {figures['call_next_p95_ms']} ms vs floor p95 "
        f"{figures['floor_p95_ms']} ms ({figures['p95_vs_floor']}×); double calls in all cases: "
        f"{figures['double_calls']}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
