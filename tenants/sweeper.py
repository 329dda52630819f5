"""The check-in sweeper: republish check-ins left pending in any active clinic.

A check-in accepted while RabbitMQ was down, or whose message was lost, stays pending in its
clinic's schema. A trigger keeps a public index of pending check-ins in the check-in's own
transaction, so one query finds those due at every active clinic; then only the clinics that
have some are visited (one query for their rows, then a read and a publish per clinic). A sweep
with nothing due is one statement at any clinic count (benchmarks/_scale_sweep.py counts them).
"""

import datetime
import logging

from django.conf import settings
from django.utils import timezone

from common.tenancy import tenant_connection
from queueing.selectors.checkins import checkins_due_for_republish
from queueing.services.checkins import checkin_republish
from tenants.models import Clinic
from tenants.schema import template_schema_name

logger = logging.getLogger(__name__)

SWEEP_PERIODIC_TASK_NAME = "sweep-pending-check-ins"
SWEEP_TASK_NAME = "tenants.checkins_sweep_task"
SWEEP_EVERY_SECONDS = 30
PENDING_THRESHOLD = datetime.timedelta(seconds=20)


def checkins_sweep(*, older_than: datetime.timedelta = PENDING_THRESHOLD) -> dict[str, int]:
    """Republish stale pending check-ins of every active clinic; {schema: count} of those sent."""
    tenant_connection.set_schema_to_public()
    active = Clinic.objects.filter(is_active=True).exclude(
        schema_name__in=["public", template_schema_name()]
    )
    due = checkins_due_for_republish(
        among=active.values_list("schema_name", flat=True),
        older_than=older_than,
        now=timezone.now(),
    )
    if not due:
        return {}
    clinics = active.filter(schema_name__in=list(due))
    published: dict[str, int] = {}
    for clinic in clinics:
        # `with clinic` makes the schema current: the task's _schema_name header and its
        # routing (shard or dedicated queue) follow it.
        with clinic:
            count = checkin_republish(checkin_ids=due[clinic.schema_name])
        if count:
            published[clinic.schema_name] = count
    tenant_connection.set_schema_to_public()
    if published:
        logger.info("Republished pending check-ins: %s", published)
    return published


def checkins_sweep_schedule_ensure():
    """The beat entry of the sweeper (every 30 s on the platform queue), created if missing."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(
        every=SWEEP_EVERY_SECONDS, period=IntervalSchedule.SECONDS
    )
    task, created = PeriodicTask.objects.get_or_create(
        name=SWEEP_PERIODIC_TASK_NAME,
        defaults={
            "task": SWEEP_TASK_NAME,
            "interval": every,
            "queue": settings.CLINICO_PLATFORM_QUEUE,
            "exchange": settings.CLINICO_PLATFORM_QUEUE,
            "routing_key": settings.CLINICO_PLATFORM_QUEUE,
            "description": "Republishes check-ins left pending (e.g. accepted while the broker "
            "was down) in every active clinic.",
        },
    )
    return task
