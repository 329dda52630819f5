"""Daily reset benchmark: beat's tick with few and many clinics, and 1,000 resets at one midnight.

1. Tick: the scheduler beat runs (settings.CELERY_BEAT_SCHEDULER) over the real PeriodicTask rows
   of `--small` and then `--large` enabled bench clinics, all loaded (30 minutes before their
   shared local midnight). Median of steady ticks; the first tick (the schedule load) is printed
   apart. The floor beside it: upstream DatabaseScheduler's tick over the same rows.
2. Resets: `--resets` clinics each hold open tickets of yesterday. The scheduler, frozen at their
   shared local midnight, publishes their due reset tasks to RabbitMQ exactly as beat does (same
   headers, shard queues); one worker node consumes every shard queue. Timed from the first tick
   until every clinic's day is summarised.

Bench clinics (chain `bench`, America/Sao_Paulo, reset 00:00) are provisioned once and reused.
Run: .venv/bin/python benchmarks/reset.py [--small 10] [--large 2000] [--resets 1000]
     [--tickets 3] [--concurrency 2]
"""

import sys  # noqa: I001
from pathlib import Path

# benchmarks/queue.py sits beside this script: keep this folder off sys.path so `import queue`
# (used by concurrent.futures, logging and urllib3) finds the standard library module.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]

import argparse
import datetime
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import zoneinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

import django  # noqa: E402

django.setup()

import time_machine  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django_celery_beat.models import PeriodicTask  # noqa: E402
from kombu.utils import symbol_by_name  # noqa: E402

from clinico.celery import app  # noqa: E402
from patients.models import Patient  # noqa: E402
from queueing.models import Service  # noqa: E402
from queueing.services.tickets import ticket_issue  # noqa: E402
from tenants.models import Chain, Clinic, ClinicDaySummary  # noqa: E402
from tenants.routing import declared_queues, shard_queue_names  # noqa: E402
from tenants.schema import template_schema_ensure  # noqa: E402
from tenants.services import chain_create, clinic_provision  # noqa: E402

TZ = zoneinfo.ZoneInfo("America/Sao_Paulo")
logging.getLogger("celery.beat").setLevel(logging.WARNING)


def bench_clinics(count: int) -> list[Clinic]:
    """The first `count` bench clinics, provisioning the missing ones."""
    template_schema_ensure()
    chain = Chain.objects.filter(slug="bench").first() or chain_create(name="Bench", slug="bench")
    existing = set(Clinic.objects.filter(chain=chain).values_list("schema_name", flat=True))
    started = time.perf_counter()
    made = 0
    for i in range(count):
        slug = f"bench_{i:05d}"
        if slug not in existing:
            clinic_provision(
                chain=chain, name=f"Bench {i}", slug=slug, timezone="America/Sao_Paulo"
            )
            made += 1
            if made % 200 == 0:
                print(f"  provisioned {made} ({time.perf_counter() - started:.0f} s)", flush=True)
    if made:
        print(f"provisioned {made} bench clinics in {time.perf_counter() - started:.1f} s")
    slugs = [f"bench_{i:05d}" for i in range(count)]
    return list(Clinic.objects.filter(schema_name__in=slugs).order_by("schema_name"))


def enable_only(clinics: list[Clinic]) -> None:
    """Bench reset tasks of `clinics` enabled, every other bench reset task disabled."""
    names = [f"daily-reset:{c.schema_name}" for c in clinics]
    bench = PeriodicTask.objects.filter(name__startswith="daily-reset:bench_")
    bench.exclude(name__in=names).update(enabled=False)
    bench.filter(name__in=names).update(enabled=True)
    from django_celery_beat.models import PeriodicTasks

    PeriodicTasks.update_changed()


def next_midnight_utc() -> datetime.datetime:
    local = datetime.datetime.now(TZ)
    midnight = datetime.datetime.combine(local.date(), datetime.time(0), tzinfo=TZ)
    return (midnight + datetime.timedelta(days=1)).astimezone(datetime.UTC)


def measure_tick(scheduler_path: str, ticks: int) -> tuple[float, float, int]:
    """(first tick ms, median steady tick ms, entries loaded), 30 minutes before midnight."""
    scheduler_class = symbol_by_name(scheduler_path)
    before = next_midnight_utc() - datetime.timedelta(minutes=30)
    PeriodicTask.objects.filter(name__startswith="daily-reset:bench_").update(
        last_run_at=before - datetime.timedelta(minutes=1)
    )
    with time_machine.travel(before, tick=True):
        scheduler = scheduler_class(app=app)
        scheduler.producer = None
        started = time.perf_counter()
        scheduler.tick()
        first_ms = (time.perf_counter() - started) * 1000
        durations = []
        for _ in range(ticks):
            started = time.perf_counter()
            scheduler.tick()
            durations.append((time.perf_counter() - started) * 1000)
        loaded = len(scheduler.schedule)
    return first_ms, statistics.median(durations), loaded


def seed_yesterday(clinics: list[Clinic], tickets: int) -> None:
    """Each clinic: its summaries dropped, `tickets` open tickets issued yesterday (local)."""
    ClinicDaySummary.objects.filter(clinic__in=clinics).delete()
    yesterday_noon = datetime.datetime.combine(
        datetime.datetime.now(TZ).date() - datetime.timedelta(days=1), datetime.time(12), tzinfo=TZ
    )
    with time_machine.travel(yesterday_noon, tick=True):
        for clinic in clinics:
            with clinic:
                patient, _ = Patient.objects.get_or_create(
                    cpf="52998224725", defaults={"full_name": "Paciente Bench"}
                )
                service = Service.objects.get(is_default=True)
                for _ in range(tickets):
                    ticket_issue(patient=patient, service=service)


def start_worker(concurrency: int) -> subprocess.Popen:
    queues = ",".join([settings.CLINICO_PLATFORM_QUEUE, *shard_queue_names()])
    return subprocess.Popen(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "clinico",
            "worker",
            "-Q",
            queues,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--hostname",
            f"bench-reset-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )


def purge_queues() -> None:
    with app.connection_for_write() as conn:
        channel = conn.channel()
        for queue in declared_queues():
            queue(channel).declare()
            queue(channel).purge()


def run_resets(clinics: list[Clinic], concurrency: int) -> tuple[float, int]:
    """Seconds from beat's first tick at midnight until every clinic's day is summarised."""
    enable_only(clinics)
    purge_queues()
    worker = start_worker(concurrency)
    try:
        time.sleep(6)  # the worker connects and consumes before midnight strikes
        midnight = next_midnight_utc()
        PeriodicTask.objects.filter(name__startswith="daily-reset:bench_").update(
            last_run_at=midnight - datetime.timedelta(hours=1)
        )
        scheduler_class = symbol_by_name(settings.CELERY_BEAT_SCHEDULER)
        started = time.perf_counter()
        sent = 0
        with time_machine.travel(midnight + datetime.timedelta(seconds=1), tick=True):
            scheduler = scheduler_class(app=app)
            for _ in range(len(clinics) * 2 + 10):
                if scheduler.tick() != 0:
                    break
                sent += 1
            scheduler.sync()
        publish_s = time.perf_counter() - started
        print(f"  beat published {sent} resets in {publish_s:.2f} s")
        ids = [c.pk for c in clinics]
        while True:
            done = ClinicDaySummary.objects.filter(clinic_id__in=ids).count()
            if done >= len(clinics):
                break
            if time.perf_counter() - started > 900:
                raise SystemExit(f"only {done} of {len(clinics)} resets finished in 15 minutes")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return elapsed, sent


def open_tickets_left(clinics: list[Clinic]) -> int:
    left = 0
    today = datetime.datetime.now(TZ).date()
    for clinic in clinics:
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT count(*) FROM "{clinic.schema_name}".queueing_ticket '
                "WHERE service_day < %s AND status IN ('waiting', 'called', 'in_service')",
                [today],
            )
            left += cursor.fetchone()[0]
    return left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=2000)
    parser.add_argument("--resets", type=int, default=1000)
    parser.add_argument("--tickets", type=int, default=3, help="open tickets per clinic")
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    args = parser.parse_args()

    clinics = bench_clinics(max(args.large, args.resets, args.small))
    figures: dict[str, float | int | str] = {"bench": "reset"}
    upstream = "django_celery_beat.schedulers:DatabaseScheduler"
    for size in (args.small, args.large):
        enable_only(clinics[:size])
        first, tick, loaded = measure_tick(settings.CELERY_BEAT_SCHEDULER, args.ticks)
        _, floor, _ = measure_tick(upstream, args.ticks)
        print(
            f"{size:>5} clinics: tick {tick:.3f} ms (schedule load {first:.1f} ms, "
            f"{loaded} entries); upstream DatabaseScheduler tick {floor:.3f} ms"
        )
        key = "10" if size == args.small else "2000"
        figures[f"tick_ms_{key}"] = round(tick, 3)
        figures[f"load_ms_{key}"] = round(first, 1)
        figures[f"upstream_tick_ms_{key}"] = round(floor, 3)
    figures["tick_ratio"] = round(figures["tick_ms_2000"] / figures["tick_ms_10"], 2)
    figures["upstream_tick_ratio"] = round(
        figures["upstream_tick_ms_2000"] / figures["upstream_tick_ms_10"], 2
    )

    resetting = clinics[: args.resets]
    print(f"seeding {args.tickets} open tickets of yesterday in {len(resetting)} clinics ...")
    seed_yesterday(resetting, args.tickets)
    elapsed, sent = run_resets(resetting, args.concurrency)
    left = open_tickets_left(resetting)
    print(
        f"{len(resetting)} resets at one midnight, one worker ({args.concurrency} processes, "
        f"{settings.CLINICO_SHARD_QUEUES} shard queues): {elapsed:.1f} s; open tickets left: {left}"
    )
    enable_only(clinics)
    figures.update(
        {
            "resets_1000_s": round(elapsed, 2),
            "resets": len(resetting),
            "published": sent,
            "open_left": left,
            "sizes": f"{args.small}/{args.large}",
            "worker_concurrency": args.concurrency,
        }
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
