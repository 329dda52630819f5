"""Daily reset benchmark: beat's tick with few and many clinics, and 1,000 resets at one midnight.

1. Tick: the scheduler beat runs (settings.CELERY_BEAT_SCHEDULER) over the real PeriodicTask rows
   of `--small` and then `--large` bench clinics' enabled reset schedules, all loaded (30 minutes
   before their shared local midnight). The floor beside it: upstream DatabaseScheduler's tick
   over the same rows. Both schedulers are loaded once (the first tick, printed apart), then
   tick in alternating batches (upstream, ours, upstream, … , upstream); medians and p95.
2. Resets: `--resets` clinics each hold open tickets of yesterday. The scheduler, frozen at their
   shared local midnight, publishes their due reset tasks to RabbitMQ exactly as beat does (same
   headers, shard queues); one worker node consumes every shard queue. Timed from the first tick
   until every clinic's day is summarised.

Both schedulers read the bench clinics' reset entries only (`scheduler_of_bench_rows`): the live
stack's platform tasks (the sweepers, the live figures' catch-up) are never sent nor saved under
time travel. The run checks that at the end: a platform task it changed anyway is put back as it
was, named, and the run fails.

Bench clinics (chain `bench`, America/Sao_Paulo, reset 00:00) are provisioned once and reused.
They stay inactive (the check-in sweeper skips them); only their reset schedules are enabled
while measuring, and every one is disabled again when the benchmark ends. `make bench-clean`
drops them.
Run: .venv/bin/python benchmarks/reset.py [--small 10] [--large 2000] [--resets 1000]
     [--tickets 3] [--concurrency 2] [--ticks 2000] [--batch 100]
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
import math
import os
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

from benchmarks._bench import (  # noqa: E402
    bench_chain,
    bench_clinics_deactivate,
    interleaved,
    latency_summary,
    median,
    platform_schedules_restore,
    platform_schedules_snapshot,
    scheduler_of_bench_rows,
)
from clinico.celery import app  # noqa: E402
from patients.models import Patient  # noqa: E402
from queueing.models import Service  # noqa: E402
from queueing.services.tickets import ticket_issue  # noqa: E402
from tenants.models import Clinic, ClinicDaySummary  # noqa: E402
from tenants.routing import declared_queues, shard_queue_names  # noqa: E402
from tenants.schema import template_schema_ensure  # noqa: E402
from tenants.schedules import reset_periodic_task_name  # noqa: E402
from tenants.services import clinic_provision  # noqa: E402

TZ = zoneinfo.ZoneInfo("America/Sao_Paulo")
UPSTREAM_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
logging.getLogger("celery.beat").setLevel(logging.WARNING)


def bench_clinics(count: int) -> list[Clinic]:
    """The first `count` bench clinics, provisioning the missing ones."""
    template_schema_ensure()
    chain = bench_chain()
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


def _bench_reset_tasks():
    names = [
        reset_periodic_task_name(schema_name=schema)
        for schema in Clinic.objects.filter(chain=bench_chain()).values_list(
            "schema_name", flat=True
        )
    ]
    return PeriodicTask.objects.filter(name__in=names)


def enable_only(clinics: list[Clinic]) -> None:
    """Reset schedules of `clinics` enabled, every other bench clinic's disabled (beat reads them).

    Only the schedules: the clinics themselves stay inactive, so nothing else (the check-in
    sweeper, their hosts) serves them.
    """
    from django_celery_beat.models import PeriodicTasks

    names = [reset_periodic_task_name(schema_name=c.schema_name) for c in clinics]
    bench = _bench_reset_tasks()
    bench.exclude(name__in=names).update(enabled=False)
    bench.filter(name__in=names).update(enabled=True)
    PeriodicTasks.update_changed()


def next_midnight_utc() -> datetime.datetime:
    local = datetime.datetime.now(TZ)
    midnight = datetime.datetime.combine(local.date(), datetime.time(0), tzinfo=TZ)
    return (midnight + datetime.timedelta(days=1)).astimezone(datetime.UTC)


def measure_ticks(ticks: int, batch: int) -> dict:
    """Our scheduler's and upstream's ticks over the same rows, 30 minutes before midnight.

    Each scheduler's first tick (the schedule load) is timed apart; then batches of steady
    ticks alternate, upstream first and last. Milliseconds.
    """
    ours_class = scheduler_of_bench_rows(symbol_by_name(settings.CELERY_BEAT_SCHEDULER))
    upstream_class = scheduler_of_bench_rows(symbol_by_name(UPSTREAM_SCHEDULER))
    before = next_midnight_utc() - datetime.timedelta(minutes=30)
    _bench_reset_tasks().update(last_run_at=before - datetime.timedelta(minutes=1))
    samples: dict[str, list[float]] = {"ours": [], "upstream": []}
    with time_machine.travel(before, tick=True):
        schedulers = {"ours": ours_class(app=app), "upstream": upstream_class(app=app)}
        loads = {}
        for name, scheduler in schedulers.items():
            scheduler.producer = None
            started = time.perf_counter()
            scheduler.tick()
            loads[name] = (time.perf_counter() - started) * 1000

        def tick_batch(name: str) -> None:
            scheduler = schedulers[name]
            for _ in range(batch):
                started = time.perf_counter()
                scheduler.tick()
                samples[name].append((time.perf_counter() - started) * 1000)

        interleaved(
            rounds=max(1, math.ceil(ticks / batch)),
            floor=lambda _: tick_batch("upstream"),
            measured=lambda _: tick_batch("ours"),
        )
        loaded = len(schedulers["ours"].schedule)
    return {
        "tick": median(samples["ours"]),
        "tick_p95": latency_summary(samples["ours"], digits=3)["p95"],
        "upstream": median(samples["upstream"]),
        "upstream_p95": latency_summary(samples["upstream"], digits=3)["p95"],
        "load": loads["ours"],
        "upstream_load": loads["upstream"],
        "loaded": loaded,
    }


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


def shard_consumers() -> int:
    """Consumers already on the shard queues (a `make run` worker takes resets too)."""
    with app.connection_for_write() as conn:
        channel = conn.channel()
        for queue in declared_queues():  # declared as the stack declares them (never purged)
            queue(channel).declare()
        return sum(
            queue(channel).queue_declare(passive=True).consumer_count
            for queue in declared_queues()
            if queue.name != settings.CLINICO_PLATFORM_QUEUE
        )


def run_resets(clinics: list[Clinic], concurrency: int) -> tuple[float, int]:
    """Seconds from beat's first tick at midnight until every clinic's day is summarised."""
    enable_only(clinics)
    # The queues are the running stack's too (its check-ins, e-mails, webhooks): never purged.
    # Resets are idempotent, so a message a stopped earlier run left behind does no harm.
    worker = start_worker(concurrency)
    try:
        time.sleep(6)  # the worker connects and consumes before midnight strikes
        midnight = next_midnight_utc()
        _bench_reset_tasks().update(last_run_at=midnight - datetime.timedelta(hours=1))
        scheduler_class = scheduler_of_bench_rows(symbol_by_name(settings.CELERY_BEAT_SCHEDULER))
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
    parser.add_argument("--ticks", type=int, default=2000, help="steady ticks per scheduler")
    parser.add_argument("--batch", type=int, default=100, help="ticks per alternating batch")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    args = parser.parse_args()

    platform_schedules = platform_schedules_snapshot()
    try:
        figures = run(args)
    finally:
        enable_only([])
        bench_clinics_deactivate()
        changed = platform_schedules_restore(platform_schedules)
    figures["platform_tasks_changed"] = len(changed)
    print(json.dumps(figures))
    if changed:
        raise SystemExit(f"the run changed the live stack's periodic tasks (put back): {changed}")


def run(args) -> dict:
    clinics = bench_clinics(max(args.large, args.resets, args.small))
    # Provisioned clinics start active: inactive from here on, only their schedules enabled.
    bench_clinics_deactivate()
    figures: dict[str, float | int | str] = {"bench": "reset"}
    for size in (args.small, args.large):
        enable_only(clinics[:size])
        tick = measure_ticks(args.ticks, args.batch)
        print(
            f"{size:>5} clinics: tick median {tick['tick']:.3f} ms, p95 {tick['tick_p95']:.3f} ms "
            f"(schedule load {tick['load']:.1f} ms, {tick['loaded']} entries) | upstream "
            f"DatabaseScheduler tick median {tick['upstream']:.3f} ms, p95 "
            f"{tick['upstream_p95']:.3f} ms (load {tick['upstream_load']:.1f} ms)"
        )
        key = "10" if size == args.small else "2000"
        figures[f"tick_ms_{key}"] = round(tick["tick"], 3)
        figures[f"tick_p95_ms_{key}"] = tick["tick_p95"]
        figures[f"load_ms_{key}"] = round(tick["load"], 1)
        figures[f"upstream_tick_ms_{key}"] = round(tick["upstream"], 3)
        figures[f"upstream_tick_p95_ms_{key}"] = tick["upstream_p95"]
    figures["tick_ratio"] = round(figures["tick_ms_2000"] / figures["tick_ms_10"], 2)
    figures["upstream_tick_ratio"] = round(
        figures["upstream_tick_ms_2000"] / figures["upstream_tick_ms_10"], 2
    )

    resetting = clinics[: args.resets]
    print(f"seeding {args.tickets} open tickets of yesterday in {len(resetting)} clinics ...")
    seed_yesterday(resetting, args.tickets)
    # Not flattering the figure: when another worker (make run's) consumes the shard queues too,
    # it is not "one worker"; the line says so.
    others = shard_consumers()
    elapsed, sent = run_resets(resetting, args.concurrency)
    left = open_tickets_left(resetting)
    print(
        f"{len(resetting)} resets at one midnight, the bench's worker ({args.concurrency} "
        f"processes, {settings.CLINICO_SHARD_QUEUES} shard queues)"
        + (f" and {others} other consumers of the shard queues" if others else "")
        + f": {elapsed:.1f} s; open tickets left: {left}"
    )
    figures.update(
        {
            "resets_1000_s": round(elapsed, 2),
            "resets": len(resetting),
            "published": sent,
            "open_left": left,
            "sizes": f"{args.small}/{args.large}",
            "worker_concurrency": args.concurrency,
            "other_shard_consumers": others,
        }
    )
    return figures


if __name__ == "__main__":
    main()
