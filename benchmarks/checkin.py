"""Check-in benchmark against `make run`'s stack: gunicorn, worker, RabbitMQ, PostgreSQL.

Check-ins spread over three bench clinics (bench chain; their queues emptied first). Two phases,
each in batches that alternate with floor batches on the same connections:
  accept   floor, accept, floor, accept, … , floor. A floor batch is B authenticated trivial
           GETs (/api/v1/me/) at concurrency C; an accept batch is B check-in POSTs at C, as fast
           as they are answered 202. Figures: the medians of the batches' rates, and each
           request's latency (p50, p95). The worker's backlog is drained before the next phase.
  ticket   paced at half the accepted rate: a floor batch of B GETs, then B check-ins, in turn.
           A check-in's time is from the client's POST to its ticket committed: a thread polls
           the database for check-ins whose ticket is visible (the ticket, its event and the
           check-in's link commit in one transaction), so the figure is an upper bound, off by
           at most the poll's resolution (printed). The ticket row's issued_at (taken inside
           the transaction, before commit) gives a lower bound, printed beside it.
Counted in the database once every check-in has settled: lost = check-ins answered 202 that are
missing or have no ticket; duplicates = check-in rows nobody posted, tickets shared by two
check-ins, patients with two open tickets of a service on a day, ticket numbers given twice,
CPFs registered twice. Ends with one JSON line; exits 1 when anything is lost or duplicated.

Run: .venv/bin/python benchmarks/checkin.py [-n 600] [-c 16] [--batch 100]
     [--base-url http://127.0.0.1:$CLINICO_WEB_PORT]
"""

import sys  # noqa: I001
from pathlib import Path

# benchmarks/queue.py sits beside this script: keep this folder off sys.path so `import queue`
# (used by concurrent.futures, logging and urllib3) finds the standard library module.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import json
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from psycopg2 import sql  # noqa: E402
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
from benchmarks._db_checks import issued_ms, outcome_in_db, wait_settled  # noqa: E402
from benchmarks._http_client import KeepAliveClient, default_base_url  # noqa: E402

BENCH_USER = "bench-recepcao@clinico.demo"
FLOOR_PATH = "/api/v1/me/"
POLL_INTERVAL_SECONDS = 0.002


def clinic_queue_empty(schema: str) -> None:
    """The bench clinic's patients, check-ins and tickets removed: the counts cover this run."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "TRUNCATE {s}.queueing_ticketevent, {s}.queueing_checkin, {s}.queueing_ticket, "
                "{s}.queueing_ticketcounter, {s}.patients_patient CASCADE"
            ).format(s=sql.Identifier(schema))
        )


def cpf_for(number: int) -> str:
    generator = CPF()
    digits = list(f"{number % 10**9:09d}")
    if len(set(digits)) == 1:
        digits[0] = str((int(digits[0]) + 1) % 10)
    digits.append(generator._generate_first_digit(digits))
    digits.append(generator._generate_second_digit(digits))
    return "".join(digits)


class CommitWatch(threading.Thread):
    """Polls the database for check-ins whose ticket has committed; times them from their POST.

    A check-in first seen by a poll committed before that poll's snapshot: the time the poll's
    answer arrived is an upper bound. The last poll that did not see it was sent before the
    commit: a lower bound. Their difference is the resolution.
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.lock = threading.Lock()
        self.outstanding: dict[str, dict] = {}
        self.seen: dict[str, dict] = {}
        self.stopping = False

    def add(self, *, schema: str, checkin_id: str, started: float) -> None:
        with self.lock:
            self.outstanding[checkin_id] = {"schema": schema, "started": started, "unseen": None}

    def settled(self) -> bool:
        with self.lock:
            return not self.outstanding

    def stop(self) -> None:
        self.stopping = True
        self.join()

    def run(self) -> None:
        try:
            while not self.stopping:
                with self.lock:
                    waiting = dict(self.outstanding)
                if not waiting:
                    time.sleep(POLL_INTERVAL_SECONDS)
                    continue
                by_schema: dict[str, list[str]] = {}
                for checkin_id, item in waiting.items():
                    by_schema.setdefault(item["schema"], []).append(checkin_id)
                query = sql.SQL(" UNION ALL ").join(
                    sql.SQL(
                        "SELECT id::text FROM {}.queueing_checkin "
                        "WHERE id = ANY(%s::uuid[]) AND ticket_id IS NOT NULL"
                    ).format(sql.Identifier(schema))
                    for schema in by_schema
                )
                sent = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute(query, list(by_schema.values()))
                    found = {checkin_id for (checkin_id,) in cursor.fetchall()}
                back = time.perf_counter()
                with self.lock:
                    for checkin_id, item in waiting.items():
                        if checkin_id in found:
                            lower = item["unseen"] if item["unseen"] is not None else sent
                            self.seen[checkin_id] = {
                                "ms": (back - item["started"]) * 1000,
                                "resolution_ms": (back - max(lower, item["started"])) * 1000,
                            }
                            self.outstanding.pop(checkin_id, None)
                        else:
                            item["unseen"] = sent
                time.sleep(POLL_INTERVAL_SECONDS)
        finally:
            connection.close()


def post_checkin(client: KeepAliveClient, target: dict, number: int) -> dict:
    body = {
        "cpf": cpf_for(number),
        "patient": {"full_name": f"Paciente {number}", "birth_date": "1985-04-02"},
    }
    started_wall, started = time.time(), time.perf_counter()
    response = client.post("/api/v1/check-ins/", headers=target["auth"].headers(), json_body=body)
    answered = time.perf_counter()
    assert response.status_code == 202, (response.status_code, response.text[:300])
    return {
        "schema": target["schema"],
        "id": response.json()["id"],
        "started": started,
        "started_wall": started_wall,
        "post_ms": (answered - started) * 1000,
    }


def get_floor(client: KeepAliveClient, target: dict) -> float:
    started = time.perf_counter()
    response = client.get(FLOOR_PATH, headers=target["auth"].headers())
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (response.status_code, response.text[:200])
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=600, help="check-ins in the accept phase")
    parser.add_argument("-c", type=int, default=16, help="concurrent clients")
    parser.add_argument(
        "--batch", type=int, default=100, help="requests per batch (floor and measured alike)"
    )
    parser.add_argument("--base-url", default=default_base_url())
    parser.add_argument(
        "--clinics",
        default="bench_checkin_1,bench_checkin_2,bench_checkin_3",
        help="at least three slugs (bench chain)",
    )
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for tickets")
    args = parser.parse_args()

    slugs = args.clinics.split(",")
    if len(slugs) < 3:
        parser.error("use at least three clinics")
    try:
        figures = run(args, slugs)
    finally:
        connection.set_schema_to_public()
        bench_clinics_deactivate()
    print(json.dumps(figures))
    if figures["lost"] or figures["duplicates"]:
        sys.exit(1)


def run(args, slugs: list[str]) -> dict:
    clinics = bench_clinics_activate(
        bench_clinic_ensure(slug=slug, name=f"Bench {slug}") for slug in slugs
    )
    user = bench_user_ensure(email=BENCH_USER, full_name="Bench Recepção")
    client = KeepAliveClient(args.base_url)
    targets = []
    for clinic in clinics:
        clinic_queue_empty(clinic.schema_name)
        auth = ClinicAuth(user=user, clinic=clinic, role="receptionist")
        wait_until_served(client=client, auth=auth, path=FLOOR_PATH)
        targets.append({"schema": clinic.schema_name, "auth": auth})
    schemas = [target["schema"] for target in targets]
    lock = threading.Lock()
    first = int(time.time() * 1000) % 10**8 * 10
    numbers = iter(range(first, first + 10 * args.n + 10))

    def target_of(i: int) -> dict:
        return targets[i % len(targets)]

    # Accept: floor and accept batches in turn, at concurrency C.
    floor_rates: list[float] = []
    floor_ms: list[float] = []
    accept_rates: list[float] = []
    accept_ms: list[float] = []
    posted: list[dict] = []
    budget = [args.n]

    def timed_batch(size: int, one) -> tuple[list, float]:
        started = time.perf_counter()
        results = list(pool.map(one, range(size)))
        return results, size / (time.perf_counter() - started)

    def floor_batch(_: int) -> None:
        latencies, rate = timed_batch(args.batch, lambda i: get_floor(client, target_of(i)))
        floor_ms.extend(latencies)
        floor_rates.append(rate)

    def accept_batch(_: int) -> None:
        size = min(args.batch, budget[0])
        budget[0] -= size

        def one(i: int) -> dict:
            with lock:
                number = next(numbers)
            return post_checkin(client, target_of(i), number)

        items, rate = timed_batch(size, one)
        posted.extend(items)
        accept_ms.extend(item["post_ms"] for item in items)
        accept_rates.append(rate)

    rounds = max(1, math.ceil(args.n / args.batch))
    with ThreadPoolExecutor(max_workers=args.c) as pool:
        list(pool.map(lambda i: get_floor(client, target_of(i)), range(min(args.batch, 100))))
        interleaved(rounds=rounds, floor=floor_batch, measured=accept_batch)
    accepted_per_s, floor_per_s = median(accept_rates), median(floor_rates)
    left = wait_settled(schemas, args.wait)
    print(
        f"accept phase: {len(posted)} check-ins in {rounds} batches of {args.batch} between "
        f"{rounds + 1} floor batches, concurrency {args.c}; worker backlog drained "
        f"({left} still pending)"
    )

    # Ticket: paced floor and check-in batches in turn, at half the accepted rate.
    rate = accepted_per_s / 2
    paced_floor_ms: list[float] = []
    paced: list[dict] = []
    watch = CommitWatch()
    watch.start()
    paced_budget = [max(args.n // 2, 1)]

    def paced_batch(size: int, one) -> list:
        start = time.perf_counter()

        def at_pace(i: int):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            return one(i)

        return list(paced_pool.map(at_pace, range(size)))

    def paced_floor_batch(_: int) -> None:
        paced_floor_ms.extend(paced_batch(args.batch, lambda i: get_floor(client, target_of(i))))

    def ticket_batch(_: int) -> None:
        size = min(args.batch, paced_budget[0])
        paced_budget[0] -= size

        def one(i: int) -> dict:
            with lock:
                number = next(numbers)
            target = target_of(i)
            item = post_checkin(client, target, number)
            watch.add(schema=item["schema"], checkin_id=item["id"], started=item["started"])
            return item

        paced.extend(paced_batch(size, one))

    paced_rounds = max(1, math.ceil(paced_budget[0] / args.batch))
    try:
        with ThreadPoolExecutor(max_workers=max(args.c, 32)) as paced_pool:
            interleaved(rounds=paced_rounds, floor=paced_floor_batch, measured=ticket_batch)
        deadline = time.monotonic() + args.wait
        while not watch.settled() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watch.stop()
    wait_settled(schemas, max(0.0, deadline - time.monotonic()))

    outcome: dict[str, int] = {}
    everything = posted + paced
    for schema in schemas:
        mine = [item for item in everything if item["schema"] == schema]
        for key, value in outcome_in_db(schema=schema, posted=mine).items():
            outcome[key] = outcome.get(key, 0) + value
    ticket_ms = [watch.seen[item["id"]]["ms"] for item in paced if item["id"] in watch.seen]
    resolution_ms = [watch.seen[i["id"]]["resolution_ms"] for i in paced if i["id"] in watch.seen]
    lower_ms = [
        ms
        for schema in schemas
        for ms in issued_ms(schema=schema, items=[i for i in paced if i["schema"] == schema])
    ]

    floor_summary, accept_summary = latency_summary(floor_ms), latency_summary(accept_ms)
    ticket, lower = latency_summary(ticket_ms, digits=1), latency_summary(lower_ms, digits=1)
    paced_floor = latency_summary(paced_floor_ms)
    paced_post = latency_summary([item["post_ms"] for item in paced])
    resolution = latency_summary(resolution_ms)
    figures = {
        "bench": "checkin",
        "n": args.n,
        "concurrency": args.c,
        "clinics": len(targets),
        "batch": args.batch,
        "accepted_per_s": round(accepted_per_s, 1),
        "floor_per_s": round(floor_per_s, 1),
        "accept_vs_floor": round(accepted_per_s / floor_per_s, 2),
        "accept_p50_ms": accept_summary["p50"],
        "accept_p95_ms": accept_summary["p95"],
        "floor_p50_ms": floor_summary["p50"],
        "floor_p95_ms": floor_summary["p95"],
        "paced_rate_per_s": round(rate, 1),
        "ticket_p50_ms": ticket["p50"],
        "ticket_p95_ms": ticket["p95"],
        "ticket_p99_ms": ticket["p99"],
        "tickets_timed": ticket["n"],
        "commit_poll_resolution_p50_ms": resolution["p50"],
        "issued_p50_ms": lower["p50"],
        "issued_p95_ms": lower["p95"],
        "paced_post_p50_ms": paced_post["p50"],
        "paced_post_p95_ms": paced_post["p95"],
        "paced_floor_p50_ms": paced_floor["p50"],
        "paced_floor_p95_ms": paced_floor["p95"],
        "floor_path": FLOOR_PATH,
        "lost": outcome["lost"],
        "duplicates": outcome["duplicates"],
        "db_checks": outcome,
    }
    print(
        f"accepted {figures['accepted_per_s']}/s vs floor (GET {FLOOR_PATH}) "
        f"{figures['floor_per_s']}/s: {figures['accept_vs_floor']}× (medians of "
        f"{len(accept_rates)} and {len(floor_rates)} batches); per request: POST p50 "
        f"{accept_summary['p50']} ms, p95 {accept_summary['p95']} ms vs GET p50 "
        f"{floor_summary['p50']} ms, p95 {floor_summary['p95']} ms"
    )
    print(
        f"POST → ticket committed at {figures['paced_rate_per_s']}/s ({ticket['n']} of "
        f"{len(paced)} seen): p50 {ticket['p50']} ms, p95 {ticket['p95']} ms, p99 {ticket['p99']} "
        f"ms (upper bounds; poll resolution p50 {resolution['p50']} ms; POST → issued_at, before "
        f"commit: p50 {lower['p50']} ms, p95 {lower['p95']} ms) | 202 answer p50 "
        f"{paced_post['p50']} ms, p95 {paced_post['p95']} ms | paced floor GET p50 "
        f"{paced_floor['p50']} ms, p95 {paced_floor['p95']} ms"
    )
    print(
        f"in the database: lost {outcome['lost']} (missing {outcome['missing']}, without a "
        f"ticket {outcome['without_ticket']}), duplicates {outcome['duplicates']} (check-ins "
        f"nobody posted {outcome['unposted_checkins']}, tickets shared "
        f"{outcome['tickets_shared']}, a patient's second ticket {outcome['patient_tickets_twice']}"
        f", numbers twice {outcome['numbers_twice']}, CPFs twice {outcome['cpfs_twice']})"
    )
    return figures


if __name__ == "__main__":
    main()
