"""The chain figures read at a chain size: what benchmarks/scale.py prints as dashboard_<n>_ms.

`dashboard_ms(clinics=n)` measures the production path of a chain manager's screen, in this
process, through Django's whole request stack (middleware, session, view, template), without a
network hop: the median, in milliseconds, of loads of the dashboard page `/dashboard/?chain=<id>`
(the first page of clinics with their figures today, the chain's totals and charts, the last
days' summaries). `dashboard_reads_ms(clinics=n)` gives it beside the page's 15-second refresh
`/dashboard/live/?chain=<id>` and the chain API `GET /api/v1/chains/<id>/today/` (a manager's
token), sampled in turn.

The chain, `bench_dashboard_<n>` with clinics `bdash<n>_00001` …, is provisioned on the first
call (real clinics, cloned from the template) and reused afterwards; each clinic's public live
row is refreshed once by the real refresh (as the task does after a change) and then given a
busy day's figures (12 hours of arrivals and calls), and each has 7 closed days. So a sample
costs what it costs on a busy day. The clinics are active while measured and left inactive
(reset schedules disabled) afterwards; `make bench-clean` drops them.

Import after `django.setup()` (scale.py does), or run alone:
    .venv/bin/python benchmarks/_scale_dashboard.py --clinics 5 200 [--samples 30]
which prints one JSON line: {"bench": "dashboard", "dashboard_5_ms": …, "dashboard_200_ms": …,
"dashboard_live_<n>_ms": …, "chain_today_api_<n>_ms": …, "floor_ms": …} where the floor is
an authenticated `GET /api/v1/chains/` through the same stack, measured in the same run.
"""

import os  # noqa: I001
import sys
from pathlib import Path

if __name__ == "__main__":  # run alone: set Django up first (scale.py imports it set up)
    _HERE = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]
    sys.path.insert(0, str(_HERE.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")
    import django

    django.setup()

import argparse
import datetime
import json
import statistics
import time

from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import ChainMembership, User
from accounts.services import chain_membership_grant, user_create
from accounts.tokens import chain_token_issue
from tenants.live_figures import clinic_live_figures_refresh
from tenants.models import Chain, Clinic, ClinicDaySummary, ClinicLiveFigures
from tenants.schedules import reset_periodic_task_name
from tenants.services import chain_create, clinic_provision

CHAIN_SLUG_PREFIX = "bench_dashboard_"
MANAGER_EMAIL = "dashboard-bench@bench.clinico"
SAMPLES = 30
WARM_UP = 3


def _chain(clinics: int) -> Chain:
    slug = f"{CHAIN_SLUG_PREFIX}{clinics}"
    chain = Chain.objects.filter(slug=slug).first() or chain_create(
        name=f"Bench dashboard {clinics}", slug=slug
    )
    have = set(Clinic.objects.filter(chain=chain).values_list("schema_name", flat=True))
    for i in range(1, clinics + 1):
        name = f"bdash{clinics}_{i:05d}"
        if name not in have:
            clinic = clinic_provision(
                chain=chain,
                name=f"Bench {clinics} · {i:05d}",
                slug=name,
                timezone="America/Sao_Paulo",
            )
            clinic_live_figures_refresh(clinic=clinic)  # the real read of its schema, once
    _busy_day(chain)
    return chain


def _busy_day(chain: Chain) -> None:
    """Every clinic's live row as on a busy day, and 7 closed days: what a read has to carry."""
    now = timezone.now()
    hours = [{"hour": h, "arrivals": 20 + h, "calls": 18 + h} for h in range(7, 19)]
    ClinicLiveFigures.objects.filter(clinic__chain=chain).update(
        service_day=timezone.localdate(),
        tickets=240,
        waiting=12,
        at_desks=4,
        served=200,
        no_shows=9,
        called=220,
        wait_avg_s=610.0,
        wait_p90_s=1320.0,
        service_avg_s=420.0,
        within_target_share=0.81,
        hours=hours,
        refreshed_at=now,
    )
    clinics = list(Clinic.objects.filter(chain=chain))
    today = timezone.localdate()
    ClinicDaySummary.objects.bulk_create(
        [
            ClinicDaySummary(
                clinic=clinic,
                service_day=today - datetime.timedelta(days=back),
                tickets=230,
                served=205,
                no_shows=8,
                wait_avg_s=590.0,
                closed_at=now,
            )
            for clinic in clinics
            for back in range(1, 8)
        ],
        ignore_conflicts=True,
    )


def _active(chain: Chain, active: bool) -> None:
    """All the chain's clinics (in)active at once; their reset schedules follow."""
    clinics = Clinic.objects.filter(chain=chain)
    names = [
        reset_periodic_task_name(schema_name=s)
        for s in clinics.values_list("schema_name", flat=True)
    ]
    clinics.update(is_active=active)
    PeriodicTask.objects.filter(name__in=names).update(enabled=active)


def _manager(chain: Chain) -> User:
    user = User.objects.filter(email=MANAGER_EMAIL).first() or user_create(
        email=MANAGER_EMAIL, password="clinico-bench", full_name="Dashboard Bench"
    )
    if not ChainMembership.objects.filter(user=user, chain=chain, is_active=True).exists():
        chain_membership_grant(user=user, chain=chain)
    return user


def _client(user: User) -> Client:
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    client.force_login(user)
    return client


def _timed(call) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{response.status_code}: {response.content[:300]!r}")
    return elapsed


def dashboard_reads_ms(*, clinics: int, samples: int = SAMPLES) -> dict[str, float]:
    """Median milliseconds of each chain-figures read at `clinics` clinics, sampled in turn.

    `page`: the dashboard page; `live`: its 15-second refresh; `api`: `chains/<id>/today/`.
    Provisions the chain on the first call (see the module's docstring); later calls reuse it.
    """
    chain = _chain(clinics)
    user = _manager(chain)
    client = _client(user)
    token = chain_token_issue(user=user, chain_ids=[chain.pk]).access_token
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    api = Client(HTTP_HOST=settings.BASE_DOMAIN)
    reads = {
        "page": lambda: client.get("/dashboard/", {"chain": chain.pk}),
        "live": lambda: client.get("/dashboard/live/", {"chain": chain.pk}),
        "api": lambda: api.get(f"/api/v1/chains/{chain.pk}/today/", **bearer),
    }
    _active(chain, True)
    try:
        for _ in range(WARM_UP):
            for read in reads.values():
                _timed(read)
        times: dict[str, list[float]] = {name: [] for name in reads}
        for _ in range(samples):  # in turn, so that the machine's drift falls on all three
            for name, read in reads.items():
                times[name].append(_timed(read))
        return {name: round(statistics.median(values), 2) for name, values in times.items()}
    finally:
        _active(chain, False)


def dashboard_ms(*, clinics: int, samples: int = SAMPLES) -> float:
    """Median milliseconds of a chain manager's dashboard page load at `clinics` clinics.

    The page is the heaviest of the chain-figures reads: the first page of clinics with their
    figures today, the chain's totals and charts, the last days (`dashboard_reads_ms` gives
    its refresh and the API too).
    """
    return dashboard_reads_ms(clinics=clinics, samples=samples)["page"]


def floor_ms(*, samples: int = SAMPLES) -> float:
    """The same stack's cheapest authenticated read, `GET /api/v1/chains/` (the manager's
    chains, one small query), for scale: what any API request costs before its own work."""
    user = User.objects.get(email=MANAGER_EMAIL)  # made by dashboard_ms
    chains = list(ChainMembership.objects.filter(user=user).values_list("chain_id", flat=True))
    token = chain_token_issue(user=user, chain_ids=chains).access_token
    api = Client(HTTP_HOST=settings.BASE_DOMAIN)

    def one() -> float:
        return _timed(lambda: api.get("/api/v1/chains/", HTTP_AUTHORIZATION=f"Bearer {token}"))

    for _ in range(WARM_UP):
        one()
    return round(statistics.median(one() for _ in range(samples)), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description="Chain figures read at chain sizes.")
    parser.add_argument("--clinics", type=int, nargs="+", default=[5, 200])
    parser.add_argument("--samples", type=int, default=SAMPLES)
    args = parser.parse_args()
    figures: dict = {"bench": "dashboard"}
    for n in args.clinics:
        reads = dashboard_reads_ms(clinics=n, samples=args.samples)
        figures[f"dashboard_{n}_ms"] = reads["page"]
        figures[f"dashboard_live_{n}_ms"] = reads["live"]
        figures[f"chain_today_api_{n}_ms"] = reads["api"]
        print(
            f"{n:>6} clinics: page {reads['page']:8.2f} ms, refresh {reads['live']:8.2f} ms, "
            f"API {reads['api']:8.2f} ms",
            flush=True,
        )
    figures["floor_ms"] = floor_ms(samples=args.samples)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
