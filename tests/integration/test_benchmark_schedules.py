"""benchmarks/reset.py leaves the live stack's periodic tasks as it found them.

It ticks the real scheduler under time travel (to half an hour before the next midnight, and at
midnight) over real PeriodicTask rows; the platform's own tasks (the sweepers, the live
figures' catch-up) sit in the same table. The benchmark runs here as `make bench` runs it, in
a process of its own, at its smallest sizes, on the test database and this run's broker.
"""

import datetime
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from integrations.services import webhooks_sweep_schedule_ensure
from tenants.live_figures import (
    CATCH_UP_PERIODIC_TASK_NAME,
    live_figures_catch_up_schedule_ensure,
)
from tenants.models import Chain, Clinic
from tenants.schedules import reset_periodic_task_name
from tenants.selectors import clinic_host_cache_clear
from tenants.sweeper import checkins_sweep_schedule_ensure
from tests.database import database_url
from tests.processes import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _platform_rows() -> dict[str, dict]:
    rows = PeriodicTask.objects.exclude(
        name__startswith=reset_periodic_task_name(schema_name="bench_")
    ).values()
    return {row["name"]: row for row in rows}


@pytest.fixture
def bench_clinics_dropped():
    yield
    from benchmarks._bench import BENCH_CHAIN_SLUG, bench_clinic_drop

    for clinic in Clinic.objects.filter(chain__slug=BENCH_CHAIN_SLUG):
        bench_clinic_drop(clinic=clinic)
    Chain.objects.filter(slug=BENCH_CHAIN_SLUG).delete()
    clinic_host_cache_clear()


def test_the_reset_benchmark_leaves_every_platform_task_as_it_found_it(
    broker, bench_clinics_dropped
):
    sweepers = [
        webhooks_sweep_schedule_ensure(),
        checkins_sweep_schedule_ensure(),
        live_figures_catch_up_schedule_ensure(),
    ]
    # As a running beat leaves them: each sent a few seconds ago.
    PeriodicTask.objects.filter(pk__in=[task.pk for task in sweepers]).update(
        last_run_at=timezone.now() - datetime.timedelta(seconds=5)
    )
    before = _platform_rows()

    bench = subprocess.run(
        [
            sys.executable, str(ROOT / "benchmarks" / "reset.py"),
            "--small", "1", "--large", "2", "--resets", "1", "--tickets", "1",
            "--ticks", "20", "--batch", "10", "--concurrency", "1",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker.url,
            "CLINICO_SHARD_QUEUES": str(settings.CLINICO_SHARD_QUEUES),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip

    assert bench.returncode == 0, bench.stdout[-2000:] + bench.stderr[-4000:]
    assert '"bench": "reset"' in bench.stdout
    after = _platform_rows()
    assert after == before


def test_a_platform_task_a_benchmark_moved_ahead_is_put_back_and_named():
    from benchmarks._bench import platform_schedules_restore, platform_schedules_snapshot

    sweeper = webhooks_sweep_schedule_ensure()
    sent_at = timezone.now() - datetime.timedelta(seconds=5)
    PeriodicTask.objects.filter(pk=sweeper.pk).update(last_run_at=sent_at)
    PeriodicTask.objects.filter(name=CATCH_UP_PERIODIC_TASK_NAME).delete()
    before = platform_schedules_snapshot()
    # What a scheduler ticked under time travel saves; and a live beat's own progress.
    PeriodicTask.objects.filter(pk=sweeper.pk).update(
        last_run_at=timezone.now() + datetime.timedelta(hours=10)
    )
    catch_up = live_figures_catch_up_schedule_ensure()  # added during the run

    changed = platform_schedules_restore(before)

    assert changed == sorted(["sweep-webhooks", catch_up.name])
    sweeper.refresh_from_db()
    assert sweeper.last_run_at == sent_at
    assert not PeriodicTask.objects.filter(pk=catch_up.pk).exists()
    assert platform_schedules_restore(before) == []
