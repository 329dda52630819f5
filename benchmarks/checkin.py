"""Check-in benchmark against `make run`'s stack: gunicorn, worker, RabbitMQ, PostgreSQL.

Three phases in one run, on the same server:
  floor    N authenticated trivial GETs at concurrency C: the server's floor throughput;
  accept   N check-ins at concurrency C, as fast as they are accepted: accepted per second;
  ticket   N/2 check-ins paced at half the accepted rate: time from POST to `queued`
           (client's POST start → the check-in's processed_at, read from the status URL).
Check-ins spread over at least three clinics (bench clinics, provisioned here when missing).
Every check-in must end queued (lost = still pending or failed after the wait) with its own ticket
(duplicates = a ticket number given twice). Ends with one JSON line.

Run: .venv/bin/python benchmarks/checkin.py [-n 600] [-c 16] [--base-url http://127.0.0.1:8000]
"""

import sys  # noqa: I001
from pathlib import Path

# benchmarks/queue.py sits beside this script: keep this folder off sys.path so `import queue`
# (used by concurrent.futures, logging and urllib3) finds the standard library module.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]

import argparse
import base64
import datetime
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

import django  # noqa: E402

django.setup()

from validate_docbr import CPF  # noqa: E402

from accounts.models import User  # noqa: E402
from benchmarks._http_client import KeepAliveClient  # noqa: E402
from accounts.services import clinic_membership_grant, user_create  # noqa: E402
from tenants.models import Chain, Clinic  # noqa: E402
from tenants.selectors import clinic_hostname  # noqa: E402
from tenants.services import chain_create, clinic_provision  # noqa: E402

PASSWORD = "clinico-demo"
BENCH_USER = "bench-recepcao@clinico.demo"
_local = threading.local()


def clinics_ensure(slugs: list[str]) -> list[Clinic]:
    """The bench clinics (provisioned when missing) with the bench receptionist in each."""
    chain = Chain.objects.filter(slug="demo").first() or chain_create(
        name="Rede Saúde Demo", slug="demo"
    )
    user = User.objects.filter(email=BENCH_USER).first() or user_create(
        email=BENCH_USER, password=PASSWORD, full_name="Bench Recepção"
    )
    clinics = []
    for slug in slugs:
        clinic = Clinic.objects.filter(schema_name=slug).first() or clinic_provision(
            chain=chain, name=f"Bench {slug}", slug=slug, timezone="America/Sao_Paulo"
        )
        clinic_membership_grant(user=user, clinic=clinic, role="receptionist")
        clinics.append(clinic)
    return clinics


_load_clients: dict[str, KeepAliveClient] = {}


def load_client(base_url: str) -> KeepAliveClient:
    """The lean client of the timed phases (floor, accept, paced): benchmarks/_http_client.py."""
    if base_url not in _load_clients:
        _load_clients[base_url] = KeepAliveClient(base_url)
    return _load_clients[base_url]


def session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def authenticate(base_url: str, host: str) -> dict:
    """Headers that authenticate the bench receptionist on `host`: a JWT, or HTTP Basic."""
    response = requests.post(
        f"{base_url}/api/v1/auth/token/",
        json={"email": BENCH_USER, "password": PASSWORD},
        headers={"Host": host},
        timeout=10,
    )
    if response.status_code == 200:
        return {"Host": host, "Authorization": f"Bearer {response.json()['access']}"}
    # Before the JWT endpoint exists: HTTP Basic, if the deployment enables it.
    token = base64.b64encode(f"{BENCH_USER}:{PASSWORD}".encode()).decode()
    return {"Host": host, "Authorization": f"Basic {token}"}


def cpf_for(number: int) -> str:
    generator = CPF()
    digits = list(f"{number % 10**9:09d}")
    if len(set(digits)) == 1:
        digits[0] = str((int(digits[0]) + 1) % 10)
    digits.append(generator._generate_first_digit(digits))
    digits.append(generator._generate_second_digit(digits))
    return "".join(digits)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def run_floor(base_url, targets, n, c, path) -> float:
    def one(i):
        headers = targets[i % len(targets)]["headers"]
        response = load_client(base_url).get(path, headers=headers)
        assert response.status_code == 200, (response.status_code, response.text[:200])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=c) as pool:
        list(pool.map(one, range(n)))
    return n / (time.perf_counter() - started)


def post_checkin(base_url, target, number) -> dict:
    body = {
        "cpf": cpf_for(number),
        "patient": {"full_name": f"Paciente {number}", "birth_date": "1985-04-02"},
    }
    started_wall = time.time()
    response = load_client(base_url).post(
        "/api/v1/check-ins/", headers=target["headers"], json_body=body
    )
    assert response.status_code == 202, (response.status_code, response.text[:300])
    return {"target": target, "id": response.json()["id"], "started": started_wall}


def run_accept(base_url, targets, n, c, first_number) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=c) as pool:
        posted = list(
            pool.map(
                lambda i: post_checkin(base_url, targets[i % len(targets)], first_number + i),
                range(n),
            )
        )
    return n / (time.perf_counter() - started), posted


def run_paced(base_url, targets, n, c, rate, first_number) -> list[dict]:
    interval = 1.0 / rate
    start = time.perf_counter()

    def one(i):
        delay = start + i * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        return post_checkin(base_url, targets[i % len(targets)], first_number + i)

    with ThreadPoolExecutor(max_workers=max(c, 32)) as pool:
        return list(pool.map(one, range(n)))


def final_states(base_url, posted, timeout) -> list[dict]:
    """Poll every status URL until it is no longer pending (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    states = {}
    remaining = list(posted)
    while remaining and time.monotonic() < deadline:
        still = []
        for item in remaining:
            response = session().get(
                f"{base_url}/api/v1/check-ins/{item['id']}/",
                headers=item["target"]["headers"],
                timeout=30,
            )
            data = response.json()
            if data["status"] == "pending":
                still.append(item)
            else:
                states[item["id"]] = data
        remaining = still
        if remaining:
            time.sleep(0.2)
    return [{**item, "state": states.get(item["id"])} for item in posted]


def ticket_ms(result) -> float:
    processed = datetime.datetime.fromisoformat(result["state"]["processed_at"])
    return (processed.timestamp() - result["started"]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=600, help="check-ins in the accept phase")
    parser.add_argument("-c", type=int, default=16, help="concurrent clients")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    # Bench clinics of their own: the demo clinics stay as a new user finds them.
    parser.add_argument("--clinics", default="bench_1,bench_2,bench_3", help="at least three slugs")
    parser.add_argument("--floor-path", default="/api/v1/me/")
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for tickets")
    args = parser.parse_args()

    slugs = args.clinics.split(",")
    assert len(slugs) >= 3, "use at least three clinics"
    clinics = clinics_ensure(slugs)
    targets = []
    for clinic in clinics:
        host = clinic_hostname(clinic=clinic)
        targets.append({"slug": clinic.schema_name, "headers": authenticate(args.base_url, host)})

    floor_path = args.floor_path
    probe = requests.get(f"{args.base_url}{floor_path}", headers=targets[0]["headers"], timeout=10)
    if probe.status_code == 404:
        floor_path = "/api/v1/patients/?cpf=52998224725"  # until /me/ exists: a one-query GET

    run_floor(args.base_url, targets, min(args.n, 100), args.c, floor_path)  # warm-up
    floor = run_floor(args.base_url, targets, args.n, args.c, floor_path)
    first = int(time.time() * 1000) % 10**8 * 10
    accepted_per_s, accepted = run_accept(args.base_url, targets, args.n, args.c, first)
    # Let the worker drain the accept phase's backlog before measuring time to ticket.
    accepted_results = final_states(args.base_url, accepted, args.wait)
    paced = run_paced(
        args.base_url, targets, max(args.n // 2, 1), args.c, accepted_per_s / 2, first + args.n
    )
    results = accepted_results + final_states(args.base_url, paced, args.wait)

    lost = sum(1 for r in results if r["state"] is None or r["state"]["status"] != "queued")
    codes = [
        (r["target"]["slug"], r["state"]["ticket"]["service"]["id"], r["state"]["ticket"]["id"])
        for r in results
        if r["state"] and r["state"]["status"] == "queued"
    ]
    numbers = [
        (r["target"]["slug"], r["state"]["ticket"]["display_code"], r["state"]["processed_at"][:10])
        for r in results
        if r["state"] and r["state"]["status"] == "queued"
    ]
    duplicates = (len(codes) - len(set(codes))) + (len(numbers) - len(set(numbers)))
    paced_ids = {r["id"] for r in paced}
    latencies = [
        ticket_ms(r)
        for r in results
        if r["id"] in paced_ids and r["state"] and r["state"]["ticket"]
    ]
    figures = {
        "bench": "checkin",
        "n": args.n,
        "concurrency": args.c,
        "clinics": len(targets),
        "accepted_per_s": round(accepted_per_s, 1),
        "paced_rate_per_s": round(accepted_per_s / 2, 1),
        "ticket_p50_ms": round(percentile(latencies, 50), 1),
        "ticket_p95_ms": round(percentile(latencies, 95), 1),
        "ticket_p99_ms": round(percentile(latencies, 99), 1),
        "floor_per_s": round(floor, 1),
        "floor_path": floor_path.split("?")[0],
        "accept_vs_floor": round(accepted_per_s / floor, 2),
        "lost": lost,
        "duplicates": duplicates,
    }
    print(f"floor (GET {floor_path}): {floor:.1f}/s at concurrency {args.c}")
    print(f"check-ins accepted: {accepted_per_s:.1f}/s ({accepted_per_s / floor:.2f} × floor)")
    print(
        f"POST → queued at {accepted_per_s / 2:.1f}/s: p50 {figures['ticket_p50_ms']} ms, "
        f"p95 {figures['ticket_p95_ms']} ms, p99 {figures['ticket_p99_ms']} ms"
    )
    print(f"lost {lost}, duplicate tickets {duplicates}")
    print(json.dumps(figures))
    if lost or duplicates:
        sys.exit(1)


if __name__ == "__main__":
    main()
