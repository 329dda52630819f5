"""The Celery app: tenant-aware (the clinic's schema travels in the `_schema_name` header)."""

import contextvars
import os
import time

from celery.signals import (
    beat_init,
    before_task_publish,
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    task_success,
    worker_init,
    worker_process_shutdown,
)
from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

from common.logs import process_kind

# Production settings unless told otherwise: only manage.py and the development scripts
# (Makefile, deploy/stack.sh) fall back to clinico.settings.dev and its published secret key.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.prod")


def _worker_multiprocess_dir() -> None:
    """A worker node with a metrics port collects its pool processes' metrics from files: an
    empty directory per node, set before prometheus-client is first imported."""
    port = os.environ.get("CLINICO_METRICS_PORT_WORKER", "0")
    if process_kind() != "worker" or port in ("", "0") or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        return
    import shutil
    from pathlib import Path

    default = Path(__file__).resolve().parents[1] / ".run" / "prometheus"
    directory = Path(os.environ.get("CLINICO_METRICS_DIR") or default) / f"worker-{port}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


_worker_multiprocess_dir()

app = TenantAwareCeleryApp("clinico")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_routes = ("tenants.routing.route_task",)
app.conf.task_create_missing_queues = True
app.conf.task_default_queue = "platform"
app.autodiscover_tasks()


@app.on_after_configure.connect
def _declare_queues(sender, **kwargs):
    from tenants.routing import declared_queues

    sender.conf.task_queues = declared_queues()


@task_prerun.connect(dispatch_uid="clinico_connections_checked")
def _connections_checked(task=None, **kwargs):
    """Before each task, drop database connections that are broken or older than CONN_MAX_AGE.

    What Django does at each request. Celery's Django fixup would instead close every connection
    before and after every task (a new PostgreSQL backend for each check-in); the settings turn
    that off with CELERY_DB_REUSE_MAX, and this keeps the connection honest.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run in the caller's process, inside its transaction: its connection, not ours
    from django.db import close_old_connections

    close_old_connections()


# --- logs and metrics (common/logs.py, common/metrics.py; docs/operations.md) ----------------


@setup_logging.connect(dispatch_uid="clinico_logging")
def _logging_configured(**kwargs):
    """The worker and beat log as the web does (settings.LOGGING: JSON lines), not Celery's way."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@before_task_publish.connect(dispatch_uid="clinico_task_headers")
def _task_headers_set(sender=None, headers=None, **kwargs):
    """Each message carries the publishing request's id and its publish time (a queue's age)."""
    if headers is None:
        return
    from common import request_id
    from common.metrics import PUBLISHED_AT_HEADER, celery_published

    if sender:
        celery_published.labels(str(sender)).inc()

    headers.setdefault(PUBLISHED_AT_HEADER, time.time())
    current = request_id.current.get()
    if current and request_id.TASK_HEADER not in headers:
        headers[request_id.TASK_HEADER] = current


_request_id_tokens: dict[str, contextvars.Token] = {}


@task_prerun.connect(dispatch_uid="clinico_task_request_id")
def _task_request_id_bound(task_id=None, task=None, **kwargs):
    """The task's log lines carry the id of the request that published it."""
    from common import request_id

    if task is None or task_id is None:
        return
    given = getattr(task.request, request_id.TASK_HEADER, None)
    _request_id_tokens[task_id] = request_id.current.set(given if isinstance(given, str) else None)


@task_postrun.connect(dispatch_uid="clinico_task_request_id_end")
def _task_request_id_unbound(task_id=None, **kwargs):
    from common import request_id

    token = _request_id_tokens.pop(task_id, None)
    if token is not None:
        request_id.current.reset(token)


@task_success.connect(dispatch_uid="clinico_task_success_counted")
def _task_success_counted(sender=None, result=None, **kwargs):
    from common.metrics import checkin_queued_lag, task_outcome_counted
    from queueing.services.checkins import CHECKIN_PROCESS_TASK

    if sender is None:
        return
    task_outcome_counted(sender.name, "success")
    if sender.name == CHECKIN_PROCESS_TASK and result == "queued" and sender.request.args:
        # Still in the clinic's schema (task_success comes before task_postrun restores it).
        from queueing.models import CheckIn

        times = (
            CheckIn.objects.filter(pk=sender.request.args[0])
            .values_list("created_at", "processed_at")
            .first()
        )
        if times is not None and times[1] is not None:
            checkin_queued_lag.observe(max((times[1] - times[0]).total_seconds(), 0.0))


@task_failure.connect(dispatch_uid="clinico_task_failure_counted")
def _task_failure_counted(sender=None, **kwargs):
    from common.metrics import task_outcome_counted

    if sender is not None:
        task_outcome_counted(sender.name, "failure")


@task_retry.connect(dispatch_uid="clinico_task_retry_counted")
def _task_retry_counted(sender=None, **kwargs):
    from common.metrics import task_outcome_counted

    if sender is not None:
        task_outcome_counted(sender.name, "retry")


@worker_init.connect(dispatch_uid="clinico_worker_metrics")
def _worker_metrics_served(**kwargs):
    """The worker node's endpoint: its pool processes' metrics, in multiprocess mode."""
    from common.metrics import serve

    serve("worker")


@worker_process_shutdown.connect(dispatch_uid="clinico_worker_metrics_process_end")
def _worker_process_metrics_end(pid=None, **kwargs):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


@beat_init.connect(dispatch_uid="clinico_beat_metrics")
def _beat_metrics_served(sender=None, **kwargs):
    """Beat's endpoint: its schedule's lag and the platform's gauges, read at each scrape."""
    from common.metrics import BeatCollector, platform_collector, serve

    serve("beat", collectors=[platform_collector(), BeatCollector(sender)])
