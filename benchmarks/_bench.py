"""What the benchmarks share: the bench chain and its clinics, tokens, percentiles, batches.

Bench clinics belong to a chain of their own (slug `bench`), so the demo chain a newcomer opens
on the dashboard never lists them. A benchmark activates the clinics it sends requests to and,
when it ends (failures included), leaves every bench clinic inactive: the web answers 404 on
their hosts, their daily-reset schedules are disabled and the check-in sweeper skips them.
`make bench-clean` (benchmarks/_clean.py) drops them with their schemas and the chain.

Import after `django.setup()`.
"""

import statistics
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from django_celery_beat.models import PeriodicTask

from accounts.models import User
from accounts.services import clinic_membership_grant, user_create
from accounts.tokens import clinic_token_issue
from benchmarks._http_client import KeepAliveClient
from queueing.selectors.checkins import CHECKIN_PENDING_INDEX
from tenants.models import Chain, Clinic
from tenants.schedules import clinic_reset_schedule_sync, reset_periodic_task_name
from tenants.selectors import clinic_hostname
from tenants.services import chain_create, clinic_provision, clinic_update_settings

BENCH_CHAIN_SLUG = "bench"
BENCH_CHAIN_NAME = "Bench (benchmarks only)"
BENCH_PASSWORD = "clinico-bench"
# A web process keeps host -> clinic for HOST_CACHE_SECONDS (10 s): after a clinic is
# activated, its host may still answer "not active" for that long.
ACTIVATION_WAIT_SECONDS = 30.0
# Access tokens live 10 minutes; a benchmark asks for a fresh one well before that.
TOKEN_REFRESH_SECONDS = 300.0


def bench_chain() -> Chain:
    return Chain.objects.filter(slug=BENCH_CHAIN_SLUG).first() or chain_create(
        name=BENCH_CHAIN_NAME, slug=BENCH_CHAIN_SLUG
    )


def bench_clinic_ensure(*, slug: str, name: str, timezone: str = "America/Sao_Paulo") -> Clinic:
    """The bench clinic `slug`, provisioned in the bench chain when missing (left as it is)."""
    chain = bench_chain()
    clinic = Clinic.objects.filter(schema_name=slug).select_related("chain").first()
    if clinic is None:
        return clinic_provision(chain=chain, name=name, slug=slug, timezone=timezone)
    if clinic.chain_id != chain.pk:
        raise SystemExit(
            f'Clinic "{slug}" belongs to the chain "{clinic.chain.slug}", not to the bench chain; '
            "run `make bench-clean` (it drops bench clinics left in other chains by older "
            "benchmarks) or choose other slugs."
        )
    return clinic


def bench_user_ensure(*, email: str, full_name: str) -> User:
    return User.objects.filter(email=email).first() or user_create(
        email=email, password=BENCH_PASSWORD, full_name=full_name
    )


def bench_clinics_activate(clinics: Iterable[Clinic]) -> list[Clinic]:
    """Activate the bench clinics a benchmark sends requests to (their reset schedules too)."""
    active = []
    for clinic in clinics:
        if not clinic.is_active:
            clinic = clinic_update_settings(clinic=clinic, is_active=True)
        active.append(clinic)
    return active


def bench_clinics_deactivate() -> int:
    """Leave every bench clinic inactive with its reset schedule disabled; how many changed."""
    changed = 0
    clinics = Clinic.objects.filter(chain__slug=BENCH_CHAIN_SLUG).order_by("schema_name")
    for clinic in clinics.filter(is_active=True):
        clinic_update_settings(clinic=clinic, is_active=False)
        changed += 1
    # A benchmark may enable an inactive clinic's schedule for beat to read (reset.py).
    by_task = {reset_periodic_task_name(schema_name=c.schema_name): c for c in clinics}
    enabled = PeriodicTask.objects.filter(name__in=list(by_task), enabled=True)
    for name in enabled.values_list("name", flat=True):
        clinic_reset_schedule_sync(clinic=by_task[name])
        changed += 1
    return changed


class ClinicAuth:
    """Request headers of a staff user on one clinic's host, with an access token kept fresh."""

    def __init__(self, *, user: User, clinic: Clinic, role: str):
        clinic_membership_grant(user=user, clinic=clinic, role=role)
        self.user, self.clinic, self.role = user, clinic, role
        self.host = clinic_hostname(clinic=clinic)
        self._headers: dict = {}
        self._issued = 0.0

    def headers(self) -> dict:
        if time.monotonic() - self._issued > TOKEN_REFRESH_SECONDS:
            token = clinic_token_issue(user=self.user, clinic=self.clinic, role=self.role)
            self._headers = {"Host": self.host, "Authorization": f"Bearer {token.access_token}"}
            self._issued = time.monotonic()
        return self._headers


def wait_until_served(*, client: KeepAliveClient, auth: ClinicAuth, path: str) -> None:
    """Wait until the web answers 200 on the clinic's host (a just-activated host may not yet)."""
    deadline = time.monotonic() + ACTIVATION_WAIT_SECONDS
    while True:
        response = client.get(path, headers=auth.headers())
        if response.status_code == 200:
            return
        if time.monotonic() > deadline:
            raise SystemExit(
                f"GET {path} on {auth.host} answers {response.status_code}: {response.text[:200]}"
            )
        time.sleep(0.5)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def latency_summary(values: list[float], *, digits: int = 2) -> dict:
    """p50, p95 and p99 of `values` (milliseconds), rounded, with the sample count."""
    return {
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "p99": round(percentile(values, 99), digits),
        "n": len(values),
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run_batch(pool: ThreadPoolExecutor, workers: int, loop: Callable[[int], None]) -> float:
    """Run `loop(worker_index)` on `workers` threads of `pool`; the batch's wall seconds.

    The pool's threads outlive the batch, so their keep-alive connections do too: floor and
    measured batches go through the same connections.
    """
    started = time.perf_counter()
    for future in [pool.submit(loop, i) for i in range(workers)]:
        future.result()
    return time.perf_counter() - started


def interleaved(
    *, rounds: int, floor: Callable[[int], None], measured: Callable[[int], None]
) -> None:
    """floor, measured, floor, … , measured, floor: every measured batch between two floors.

    Both see the same drift of a shared machine (other processes, the worker's backlog, the
    table growing), so the ratio between them holds where one early floor sample would not.
    """
    for i in range(rounds):
        floor(i)
        measured(i)
    floor(rounds)


def bench_clinic_drop(*, clinic: Clinic) -> None:
    """Drop a bench clinic: its schema, its reset schedule, its domains and memberships."""
    PeriodicTask.objects.filter(
        name=reset_periodic_task_name(schema_name=clinic.schema_name)
    ).delete()
    with connection.cursor() as cursor:  # what the schema's trigger no longer can remove
        cursor.execute(
            f"DELETE FROM {CHECKIN_PENDING_INDEX} WHERE schema_name = %s", [clinic.schema_name]
        )
    clinic.delete(force_drop=True)


# --- the live stack's periodic tasks --------------------------------------------------------

# Every bench clinic's daily-reset entry starts with this (slugs bench_00000, …).
BENCH_RESET_PREFIX = reset_periodic_task_name(schema_name="bench_")
# What beat itself writes to a row when it sends the task.
_BEAT_PROGRESS = {"last_run_at", "total_run_count", "date_changed"}


def platform_schedules_snapshot() -> dict[int, dict]:
    """Every periodic task that is not a bench clinic's, field by field (by id)."""
    rows = PeriodicTask.objects.exclude(name__startswith=BENCH_RESET_PREFIX).values()
    return {row["id"]: row for row in rows}


def platform_schedules_restore(before: dict[int, dict]) -> list[str]:
    """Put back what a benchmark changed in the live stack's periodic tasks; their names.

    A live beat keeps running beside a benchmark and moves `last_run_at` forward as it sends
    tasks: that is left alone. A `last_run_at` in the future (a benchmark ticked beat under time
    travel) or any other field changed is put back as it was; a row the benchmark added is
    removed.
    """
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTasks

    now = timezone.now()
    after = platform_schedules_snapshot()
    changed: list[str] = []
    for pk, row in after.items():
        old = before.get(pk)
        if old is None:
            PeriodicTask.objects.filter(pk=pk).delete()
            changed.append(row["name"])
            continue
        differs = {field for field in row if row[field] != old[field]}
        ahead = row["last_run_at"] is not None and row["last_run_at"] > now
        if ahead or differs - _BEAT_PROGRESS:
            fields = {key: value for key, value in old.items() if key != "id"}
            PeriodicTask.objects.filter(pk=pk).update(**fields)
            changed.append(row["name"])
    if changed:
        PeriodicTasks.update_changed()
    return sorted(changed)


def scheduler_of_bench_rows(scheduler_class: type) -> type:
    """`scheduler_class` reading only the bench clinics' reset entries and writing no other.

    Ticked under time travel, the real scheduler would send the live stack's platform tasks
    (the sweepers, the live figures' catch-up) and save their `last_run_at` hours ahead; and
    its set-up writes celery's default entries into the live stack's table.
    """

    class BenchRowsScheduler(scheduler_class):  # type: ignore[misc, valid-type]
        def setup_schedule(self) -> None:
            pass

        def enabled_models_qs(self):
            return super().enabled_models_qs().filter(name__startswith=BENCH_RESET_PREFIX)

    BenchRowsScheduler.__name__ = BenchRowsScheduler.__qualname__ = scheduler_class.__name__
    return BenchRowsScheduler
