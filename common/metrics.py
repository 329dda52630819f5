"""Prometheus metrics of every process kind and the endpoint each serves (docs/operations.md).

Each process kind serves its metrics on a port of its own (`CLINICO_METRICS_PORT_<KIND>`,
bound to `CLINICO_METRICS_ADDRESS`), never on the public or a clinic host:

- web: the gunicorn master (deploy/gunicorn.conf.py) serves what its workers record, in
  prometheus-client's multiprocess mode (one directory of files per run, wiped at start);
- worker: the Celery worker's main process, its pool processes in multiprocess mode
  (clinico/celery.py);
- beat, events, the webhook listener: the process itself.

Beat's endpoint also carries the platform's gauges, read at scrape time with a few queries on
public tables and the broker: pending check-ins, webhook backlog, beat lag, late daily resets,
the shard queues, and whether the database and the broker answer.

No metric has a clinic label: ten thousand clinics would be ten thousand series each. The
detail per clinic stays in the database and the admin.
"""

import datetime
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

KINDS = ("web", "events", "worker", "beat", "webhooks")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds: from a few milliseconds (a queue read) to a minute (a check-in waiting for a worker).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
LAG_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)

# --- recorded by the processes --------------------------------------------------------------

http_requests = Counter(
    "clinico_http_requests",
    "HTTP answers of the web process, by route template, method and status.",
    ["route", "method", "status"],
)
http_request_duration = Histogram(
    "clinico_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
unavailable_answers = Counter(
    "clinico_unavailable_answers",
    "503 answers, by cause (database_unavailable, broker_unavailable).",
    ["cause"],
)
for _cause in ("database_unavailable", "broker_unavailable"):
    unavailable_answers.labels(_cause)  # 0 from the start: a rate needs the series to exist
celery_published = Counter(
    "clinico_celery_tasks_published",
    "Celery tasks published by this process, by task name.",
    ["task"],
)
checkin_queued_lag = Histogram(
    "clinico_checkin_queued_lag_seconds",
    "From a check-in's acceptance (202) to its ticket (queued), as the worker records it.",
    buckets=LAG_BUCKETS,
)
celery_tasks = Counter(
    "clinico_celery_tasks",
    "Celery tasks run by the worker, by task name and outcome (success, failure, retry).",
    ["task", "outcome"],
)
celery_task_last_success = Gauge(
    "clinico_celery_task_last_success_timestamp_seconds",
    "When a task of this name last succeeded (Unix time).",
    ["task"],
    multiprocess_mode="max",
)


def route_of(request: Any) -> str:
    """The route template that answered `request` (never its raw path: ids would be series)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    route = getattr(match, "route", None) or match.view_name or "<unnamed>"
    return "/" + str(route).lstrip("^").removesuffix("$")


class MetricsMiddleware:
    """Counts and times every answer by route template and status (outermost but one)."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        started = time.perf_counter()
        response = self.get_response(request)
        labels = (route_of(request), request.method, str(response.status_code))
        http_requests.labels(*labels).inc()
        http_request_duration.labels(*labels).observe(time.perf_counter() - started)
        return response


def unavailable_counted(cause: str) -> None:
    unavailable_answers.labels(cause).inc()


def task_outcome_counted(task_name: str, outcome: str) -> None:
    celery_tasks.labels(task_name, outcome).inc()
    if outcome == "success":
        celery_task_last_success.labels(task_name).set(time.time())


# --- read at scrape time (beat's endpoint) ----------------------------------------------------

# One statement each, on public tables, whatever the number of clinics.
_PENDING_CHECKINS_SQL = """
    SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)
    FROM public.queueing_checkin_pending
"""
_WEBHOOK_BACKLOG_SQL = """
    SELECT count(*),
           coalesce(extract(epoch FROM clock_timestamp() - min(least(
               CASE WHEN s.due_at <= clock_timestamp() THEN s.due_at END, a.last_at
           ))), 0)
    FROM public.integrations_schedule_webhookschedule s
    JOIN public.tenants_clinic c ON c.id = s.clinic_id AND c.is_active
    LEFT JOIN public.events_activity_clinicactivity a
      ON a.schema_name = c.schema_name AND a.last_event_id > s.event_cursor
    WHERE s.due_at <= clock_timestamp() OR a.schema_name IS NOT NULL
"""
# A clinic's reset is late when its last local reset time passed more than the grace ago and
# beat has not sent it since (nor was the clinic or its schedule made since).
_RESETS_LATE_SQL = """
    WITH zoned AS (
        SELECT c.timezone, c.created_at, t.last_run_at, c.reset_time,
               clock_timestamp() AT TIME ZONE c.timezone AS local_now
        FROM public.tenants_clinic c
        JOIN public.django_celery_beat_periodictask t
          ON t.name = 'daily-reset:' || c.schema_name AND t.enabled
        WHERE c.is_active
    ), local AS (
        SELECT *, date_trunc('day', local_now) + reset_time AS today_due FROM zoned
    ), due AS (
        SELECT coalesce(last_run_at, created_at) AS ran,
               (CASE WHEN today_due > local_now THEN today_due - interval '1 day'
                     ELSE today_due END) AT TIME ZONE timezone AS last_due
        FROM local
    )
    SELECT count(*), coalesce(max(extract(epoch FROM clock_timestamp() - last_due)), 0)
    FROM due
    WHERE ran < last_due AND clock_timestamp() - last_due > %s * interval '1 second'
"""


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class PlatformCollector(Collector):
    """The platform's backlog and health, read when Prometheus scrapes beat's endpoint."""

    def __init__(self, *, queues: Callable[[], Iterable[str]], broker: Callable[[], Any]):
        self.queues = queues
        self.broker = broker
        self._lock = threading.Lock()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:  # overlapping scrapes: one at a time
            yield from self._database()
            yield from self._broker()

    def _database(self) -> Iterator[GaugeMetricFamily]:
        from django.conf import settings
        from django.db import Error, connection

        try:
            with connection.cursor() as cursor:
                cursor.execute(_PENDING_CHECKINS_SQL)
                pending, pending_age = cursor.fetchone()
                cursor.execute(_WEBHOOK_BACKLOG_SQL)
                backlog, backlog_age = cursor.fetchone()
                cursor.execute(_RESETS_LATE_SQL, [settings.CLINICO_METRICS_RESET_GRACE_SECONDS])
                resets_late, reset_late_s = cursor.fetchone()
        except Error as error:
            logger.warning("Metrics: the database cannot be read (%s)", error)
            yield _gauge("clinico_database_up", "Whether the database answers (1) or not (0).", 0)
            return
        finally:
            # The scrape's thread goes with its answer: so does its connection (unless the
            # caller's transaction holds it).
            if not connection.in_atomic_block:
                connection.close()
        yield _gauge("clinico_database_up", "Whether the database answers (1) or not (0).", 1)
        yield _gauge("clinico_checkins_pending", "Check-ins accepted and not yet queued.", pending)
        yield _gauge(
            "clinico_checkins_pending_oldest_age_seconds",
            "Age of the oldest check-in not yet queued (0 when none).",
            float(pending_age),
        )
        yield _gauge(
            "clinico_webhooks_backlog_clinics",
            "Active clinics with webhook deliveries due or events not yet read for them.",
            backlog,
        )
        yield _gauge(
            "clinico_webhooks_oldest_due_age_seconds",
            "How long the oldest due webhook work has waited (0 when none).",
            max(float(backlog_age), 0.0),
        )
        yield _gauge(
            "clinico_clinic_resets_late",
            "Active clinics whose daily reset time passed (beyond the grace) and beat has not "
            "sent it.",
            resets_late,
        )
        yield _gauge(
            "clinico_clinic_reset_late_seconds",
            "Seconds since the oldest missed daily reset time among clinics (0 when none).",
            float(reset_late_s),
        )

    def _broker(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "clinico_celery_queue_messages",
            "Messages ready in each declared queue.",
            labels=["queue"],
        )
        oldest = GaugeMetricFamily(
            "clinico_celery_queue_oldest_message_age_seconds",
            "Age of the message at the head of each declared queue (0 when empty).",
            labels=["queue"],
        )
        try:
            with self.broker() as conn:
                conn.ensure_connection(max_retries=1)
                channel = conn.channel()
                try:
                    for queue in self.queues():
                        count, age = _queue_depth_and_age(channel, queue)
                        depth.add_metric([queue], count)
                        oldest.add_metric([queue], age)
                finally:
                    channel.close()
        except Exception as error:  # noqa: BLE001 - any broker failure is "down" to the operator
            logger.warning("Metrics: the broker cannot be read (%s)", error)
            yield _gauge("clinico_broker_up", "Whether the broker answers (1) or not (0).", 0)
            return
        yield _gauge("clinico_broker_up", "Whether the broker answers (1) or not (0).", 1)
        yield depth
        yield oldest


class BeatCollector(Collector):
    """Each platform task's lag as the running beat sees it (its schedule in memory).

    The database's `last_run_at` is written by beat only every few minutes; what beat holds
    in memory is what decides when it sends. Clinics' entries (a `_schema_name` header) are
    left out: their lateness is `clinico_clinic_reset_late_seconds`.
    """

    def __init__(self, service: Any) -> None:
        self.service = service

    def _entries(self) -> list[Any]:
        scheduler = self.service.scheduler
        entries = getattr(scheduler, "_schedule", None) or scheduler.data
        for _attempt in range(3):  # beat's thread may be replacing them meanwhile
            try:
                return list(entries.values())
            except RuntimeError:
                continue
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.utils import timezone

        age = GaugeMetricFamily(
            "clinico_beat_task_last_run_age_seconds",
            "Seconds since beat last sent each platform task (negative: a last run in the future).",
            labels=["task"],
        )
        lag = GaugeMetricFamily(
            "clinico_beat_task_lag_seconds",
            "Seconds each platform task is past due and not yet sent (0 when not yet due).",
            labels=["task"],
        )
        now = timezone.now()
        for entry in self._entries():
            headers = (getattr(entry, "options", None) or {}).get("headers") or {}
            # django-celery-beat's reserve() keeps the entry it read last in its schedule and
            # moves only the shared PeriodicTask row on: the row holds the run just sent.
            model = getattr(entry, "model", None)
            last_run_at = getattr(model, "last_run_at", None) or entry.last_run_at
            if "_schema_name" in headers or last_run_at is None:
                continue
            if timezone.is_naive(last_run_at):
                last_run_at = timezone.make_aware(last_run_at, datetime.UTC)
            age.add_metric([entry.name], (now - last_run_at).total_seconds())
            remaining = entry.schedule.remaining_estimate(last_run_at).total_seconds()
            lag.add_metric([entry.name], max(-remaining, 0.0))
        yield age
        yield lag


PUBLISHED_AT_HEADER = "clinico_published_at"


def _queue_depth_and_age(channel: Any, queue: str) -> tuple[int, float]:
    """(ready messages, age of the head one): the head is read and given back at once.

    AMQP has no peek: the head message is fetched unacknowledged and rejected with requeue,
    which puts it back in its place. Its age comes from the header every publish sets
    (clinico/celery.py).
    """
    from amqp.exceptions import NotFound

    try:
        count = channel.queue_declare(queue=queue, passive=True).message_count
    except NotFound:
        return 0, 0.0
    if not count:
        return 0, 0.0
    message = channel.basic_get(queue=queue, no_ack=False)
    if message is None:  # a worker took it meanwhile
        return count, 0.0
    try:
        headers = message.headers or {}
        published_at = headers.get(PUBLISHED_AT_HEADER)
    finally:
        channel.basic_reject(message.delivery_tag, requeue=True)
    if not isinstance(published_at, int | float):
        return count, 0.0
    return count, max(time.time() - float(published_at), 0.0)


# --- serving ------------------------------------------------------------------------------


def metrics_port(kind: str) -> int:
    from django.conf import settings

    return int(getattr(settings, f"CLINICO_METRICS_PORT_{kind.upper()}", 0) or 0)


def multiprocess_dir_prepare(path: str | os.PathLike) -> str:
    """An empty directory for this run's multiprocess files (a previous run's would add up)."""
    directory = Path(path)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return str(directory)


def multiprocess_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def serve(
    kind: str,
    *,
    port: int | None = None,
    address: str | None = None,
    registry: CollectorRegistry | None = None,
    collectors: Iterable[Collector] = (),
) -> bool:
    """Serve `kind`'s metrics on its port; False (and a log line) when it has none or is taken."""
    from django.conf import settings

    port = metrics_port(kind) if port is None else port
    if not port:
        return False
    address = address or settings.CLINICO_METRICS_ADDRESS
    registry = registry or (multiprocess_registry() if os.environ.get(MULTIPROC_ENV) else REGISTRY)
    for collector in collectors:
        registry.register(collector)
    try:
        start_http_server(port, addr=address, registry=registry)
    except OSError as error:
        logger.error("Metrics of %s cannot be served on %s:%s (%s)", kind, address, port, error)
        return False
    logger.info("Metrics of %s on http://%s:%s/metrics", kind, address, port)
    return True


def platform_collector() -> PlatformCollector:
    """The platform gauges, with the Celery app's declared queues and broker."""
    from celery import current_app

    def queues() -> list[str]:
        return [queue.name for queue in current_app.conf.task_queues or ()]

    return PlatformCollector(queues=queues, broker=current_app.connection_for_read)
