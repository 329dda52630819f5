"""Each clinic's daily reset as a django-celery-beat PeriodicTask in the public schema."""

import json

from django_celery_beat.models import CrontabSchedule, PeriodicTask

from tenants.models import Clinic
from tenants.routing import clinic_queue_name

RESET_TASK_NAME = "tenants.clinic_day_close_task"


def reset_periodic_task_name(*, schema_name: str) -> str:
    return f"daily-reset:{schema_name}"


def clinic_reset_schedule_sync(*, clinic: Clinic) -> PeriodicTask:
    """Create or update the clinic's reset entry: its reset time, its timezone, its queue."""
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
    task, _ = PeriodicTask.objects.update_or_create(
        name=reset_periodic_task_name(schema_name=clinic.schema_name),
        defaults={
            "task": RESET_TASK_NAME,
            "crontab": crontab,
            "interval": None,
            "headers": json.dumps({"_schema_name": clinic.schema_name}),
            "queue": queue,
            "exchange": queue,
            "routing_key": queue,
            "enabled": clinic.is_active,
            "description": f"Closes finished service days of {clinic.name} at its local "
            f"{clinic.reset_time:%H:%M} ({clinic.timezone}).",
        },
    )
    return task
