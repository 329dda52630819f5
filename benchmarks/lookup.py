"""Patient look-up benchmark with the access trail on: search by CPF and record reads.

Against `make run`'s stack, on a bench clinic (bench chain) holding --patients patients. Batches
alternate on the same connections: floor, search, floor, read, floor, … . A floor batch is B
authenticated trivial GETs (/api/v1/me/); a search batch is B `POST patients/search/` of CPFs
of the clinic (each hit appends one access-trail entry); a read batch is B
`GET patients/{id}/` (one entry each). Figures: p50/p95/p99 of each kind of request, and the
trail entries written, counted in the clinic's table (exactly one per request, or it exits 1).
Also times the trail's INSERT alone, in this process, against the same database.

The web's look-up limit is per user and minute (CLINICO_PATIENT_LOOKUPS_PER_MINUTE, 60 by
default): start the stack with a higher one, e.g.
`CLINICO_PATIENT_LOOKUPS_PER_MINUTE=1000000 make run`.

Run: .venv/bin/python benchmarks/lookup.py [--patients 5000] [--requests 1200] [-c 8]
     [--batch 100] [--base-url http://127.0.0.1:$CLINICO_WEB_PORT]
"""

import sys  # noqa: I001
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from audit.models import AccessEntry  # noqa: E402
from audit.services import AccessActor, access_record  # noqa: E402
from benchmarks._bench import (  # noqa: E402
    ClinicAuth,
    bench_clinic_ensure,
    bench_clinics_activate,
    bench_clinics_deactivate,
    bench_user_ensure,
    latency_summary,
    wait_until_served,
)
from benchmarks._http_client import KeepAliveClient, default_base_url  # noqa: E402
from benchmarks.checkin import cpf_for  # noqa: E402
from patients.models import Patient  # noqa: E402

BENCH_USER = "bench-lookup@clinico.demo"
FLOOR_PATH = "/api/v1/me/"


def patients_ensure(clinic, count: int) -> list[tuple[int, str]]:
    """The bench clinic's patients (id, CPF), created up to `count`."""
    with clinic:
        have = Patient.objects.count()
        if have < count:
            Patient.objects.bulk_create(
                [
                    Patient(cpf=cpf_for(700_000_000 + n), full_name=f"Paciente {n}")
                    for n in range(have, count)
                ],
                ignore_conflicts=True,
                batch_size=2000,
            )
        return list(Patient.objects.filter(cpf__isnull=False).values_list("id", "cpf"))


def trail_insert_ms(clinic, samples: int) -> dict:
    """The access trail's INSERT alone, each in its own transaction, in milliseconds."""
    actor = AccessActor(user_id=1, user_email="bench@clinico.demo", role="receptionist")
    times = []
    with clinic:
        for n in range(samples):
            started = time.perf_counter()
            with transaction.atomic():
                access_record(actor=actor, action="view", patient_ids=[n + 1], fields=["cpf"])
            times.append((time.perf_counter() - started) * 1000)
    return latency_summary(times, digits=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=1200, help="searches and reads each")
    parser.add_argument("-c", type=int, default=8, help="concurrent clients")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--base-url", default=default_base_url())
    parser.add_argument("--clinic", default="bench_lookup_1")
    args = parser.parse_args()
    try:
        figures = run(args)
    finally:
        connection.set_schema_to_public()
        bench_clinics_deactivate()
    print(json.dumps(figures))
    if figures["trail_missing"] or figures["trail_extra"]:
        sys.exit(1)


def run(args) -> dict:
    [clinic] = bench_clinics_activate([bench_clinic_ensure(slug=args.clinic, name="Bench lookup")])
    patients = patients_ensure(clinic, args.patients)
    user = bench_user_ensure(email=BENCH_USER, full_name="Bench Lookup")
    auth = ClinicAuth(user=user, clinic=clinic, role="receptionist")
    client = KeepAliveClient(args.base_url)
    wait_until_served(client=client, auth=auth, path=FLOOR_PATH)
    with clinic:
        trail_before = AccessEntry.objects.count()
    rng = random.Random(7)
    pool = ThreadPoolExecutor(max_workers=args.c)
    samples: dict[str, list[float]] = {"floor": [], "search": [], "read": []}
    refused: list[int] = []

    def timed(kind: str, send) -> None:
        started = time.perf_counter()
        response = send()
        samples[kind].append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            refused.append(response.status_code)

    def floor(_: int) -> None:
        timed("floor", lambda: client.get(FLOOR_PATH, headers=auth.headers()))

    def search(_: int) -> None:
        cpf = rng.choice(patients)[1]
        timed(
            "search",
            lambda: client.post(
                "/api/v1/patients/search/", headers=auth.headers(), json_body={"cpf": cpf}
            ),
        )

    def read(_: int) -> None:
        patient_id = rng.choice(patients)[0]
        timed("read", lambda: client.get(f"/api/v1/patients/{patient_id}/", headers=auth.headers()))

    rounds = max(1, args.requests // args.batch)
    for _ in range(rounds):
        for measured in (search, read):
            list(pool.map(floor, range(args.batch)))
            list(pool.map(measured, range(args.batch)))
    list(pool.map(floor, range(args.batch)))
    pool.shutdown()
    if refused:
        raise SystemExit(
            f"{len(refused)} look-ups answered {sorted(set(refused))}: raise "
            "CLINICO_PATIENT_LOOKUPS_PER_MINUTE for the stack (see the docstring)."
        )
    with clinic:
        written = AccessEntry.objects.count() - trail_before
    expected = len(samples["search"]) + len(samples["read"])
    figures = {
        "bench": "lookup",
        "patients": len(patients),
        "search": latency_summary(samples["search"]),
        "read": latency_summary(samples["read"]),
        "floor": latency_summary(samples["floor"]),
        "trail_entries": written,
        "trail_missing": max(0, expected - written),
        "trail_extra": max(0, written - expected),
        "trail_insert_ms": trail_insert_ms(clinic, 300),
    }
    figures["search_p50_ms"] = figures["search"]["p50"]
    figures["search_p95_ms"] = figures["search"]["p95"]
    figures["read_p95_ms"] = figures["read"]["p95"]
    figures["floor_p95_ms"] = figures["floor"]["p95"]
    for kind in ("search", "read", "floor"):
        print(f"{kind:>6}: {figures[kind]}")
    print(
        f"trail: {written} entries for {expected} look-ups; "
        f"INSERT alone {figures['trail_insert_ms']}"
    )
    return figures


if __name__ == "__main__":
    main()
