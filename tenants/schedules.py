"""Each clinic's daily reset as a django-celery-beat PeriodicTask in the public schema."""

import json

from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from tenants.models import Clinic
from tenants.routing import clinic_queue_name

RESET_TASK_NAME = "tenants.clinic_day_close_task"


def reset_periodic_task_name(*, schema_name: str) -> str:
    return f"daily-reset:{schema_name}"


def clinic_reset_schedule_sync(*, clinic: Clinic) -> PeriodicTask:
    """Create or update the clinic's reset entry: its reset time, its timezone, its queue.

    When the time or zone changes, or the clinic is reactivated, the entry counts from now: it
    next fires at the next local reset time. Otherwise django-celery-beat would treat the new
    time as already missed and fire at once, at whatever local hour that is (docs/reset.md).
    """
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(clinic.reset_time.minute),
        hour=str(clinic.reset_time.hour),
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=clinic.timezone,
    )
    queue = clinic_queue_name(
        schema_name=clinic.schema_name, dedicated_queue=clinic.dedicated_queue
    )
    name = reset_periodic_task_name(schema_name=clinic.schema_name)
    task = PeriodicTask.objects.filter(name=name).first() or PeriodicTask(name=name)
    if task.pk is not None and (
        task.crontab_id != crontab.pk or (clinic.is_active and not task.enabled)
    ):
        task.last_run_at = timezone.now()
    task.task = RESET_TASK_NAME
    task.crontab = crontab
    task.interval = None
    task.headers = json.dumps({"_schema_name": clinic.schema_name})
    task.queue = task.exchange = task.routing_key = queue
    task.enabled = clinic.is_active
    task.description = (
        f"Closes finished service days of {clinic.name} at its local "
        f"{clinic.reset_time:%H:%M} ({clinic.timezone})."
    )
    task.full_clean()
    task.save()
    return task
