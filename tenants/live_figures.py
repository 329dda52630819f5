"""Each clinic's figures today, kept in the public schema (ClinicLiveFigures) for the chain.

Reading a chain's figures is then one public query per page, whatever the number of clinics;
no page or timer enters every clinic's schema. The row is kept current by the changes that
move it:

1. every ticket or desk change in a clinic calls `queueing.services.live_figures
   .live_figures_changed()`, which after commit publishes `clinic_live_figures_refresh_task`
   to the clinic's queue at most once per 2 s per process, delayed by that window (no database
   write, no lock on the hot path);
2. the task reads the clinic's figures in its schema and upserts the row, never replacing a
   newer read with an older one (`refreshed_at`);
3. a periodic catch-up (`clinic_live_figures_catch_up`, beat, platform queue) finds with ONE
   public query the clinics that need a refresh anyway — no row yet, or whose public activity
   row (the event stream's index, events.activity) shows an event newer than the one their row
   was read after (a publish lost while the broker was down) — and publishes their refresh, at
   most CATCH_UP_BATCH per run.
"""

import datetime
import logging

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common.tenancy import tenant_connection
from events.activity.models import ClinicActivity
from events.selectors import event_last_id
from events.services import figures_refreshed_notify
from queueing.clock import service_day_today
from queueing.models import Desk
from queueing.selectors.figures import day_figures_get
from queueing.selectors.report import desk_break_figures, figures_report_get
from queueing.services.live_figures import LIVE_FIGURES_REFRESH_TASK
from tenants.models import Clinic, ClinicLiveFigures
from tenants.schema import template_schema_name

logger = logging.getLogger(__name__)

CATCH_UP_TASK = "tenants.clinic_live_figures_catch_up_task"
CATCH_UP_PERIODIC_TASK_NAME = "live-figures-catch-up"
CATCH_UP_EVERY_SECONDS = 60
CATCH_UP_BATCH = 500
# A change this recent has its debounced refresh on the way (2 s, plus the worker's queue).
SETTLE = datetime.timedelta(seconds=30)

_FIELDS = [
    field.column for field in ClinicLiveFigures._meta.concrete_fields if field.column != "clinic_id"
]

_UPSERT_SQL = f"""
INSERT INTO public.{ClinicLiveFigures._meta.db_table} (clinic_id, {", ".join(_FIELDS)})
VALUES (%s, {", ".join("%s" for _ in _FIELDS)})
ON CONFLICT (clinic_id) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in _FIELDS)}
WHERE public.{ClinicLiveFigures._meta.db_table}.refreshed_at <= EXCLUDED.refreshed_at
"""


def clinic_live_figures_read() -> dict:
    """The current clinic's figures today, as ClinicLiveFigures keeps them (in its schema)."""
    read_at = timezone.now()
    # Taken first: an event committed while the figures are read counts as not yet seen.
    last_event = event_last_id()
    today = service_day_today()
    figures = day_figures_get(service_day=today).clinic
    desks = desk_break_figures(service_day=today)
    open_desks = Desk.objects.filter(is_active=True, break_reason="").count()
    hours = [
        {"hour": row["hour"], "arrivals": row["arrivals"], "calls": row["calls"]}
        for row in figures_report_get(date_from=today, date_to=today).hours
    ]
    return {
        "service_day": today,
        "tickets": figures["tickets"],
        "waiting": figures["waiting"],
        "at_desks": figures["called_now"] + figures["in_service"],
        "served": figures["served"],
        "no_shows": figures["no_shows"],
        "cancelled": figures["cancelled"],
        "called": figures["called"],
        "wait_avg_s": figures["wait_avg_s"],
        "wait_p90_s": figures["wait_p90_s"],
        "service_avg_s": figures["service_avg_s"],
        "within_target_share": figures["within_target_share"],
        "desks_open": open_desks,
        "desks_on_break": sum(1 for desk in desks if desk["on_break"]),
        "break_s": round(sum(desk["break_s"] for desk in desks), 1),
        "hours": hours,
        "refreshed_at": read_at,
        "last_event_id": last_event,
    }


def clinic_live_figures_refresh(*, clinic: Clinic) -> dict:
    """Read `clinic`'s figures in its schema and store them in its public row (upsert)."""
    with clinic:
        values = clinic_live_figures_read()
    fields = {field.column: field for field in ClinicLiveFigures._meta.concrete_fields}
    row = [clinic.pk]
    for name in _FIELDS:
        row.append(fields[name].get_db_prep_save(values[name], connection))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UPSERT_SQL, row)
        figures_refreshed_notify(schema_name=clinic.schema_name)
    return values


_STALE_SQL = f"""
SELECT c.schema_name
FROM public.{Clinic._meta.db_table} c
LEFT JOIN public.{ClinicLiveFigures._meta.db_table} l ON l.clinic_id = c.id
LEFT JOIN public.{ClinicActivity._meta.db_table} a ON a.schema_name = c.schema_name
WHERE c.is_active AND c.schema_name <> ALL(%(skip)s)
  AND (l.clinic_id IS NULL
       OR (a.last_event_id > l.last_event_id AND a.last_at < %(settled_before)s))
ORDER BY l.refreshed_at NULLS FIRST
LIMIT %(limit)s
"""


def clinics_live_figures_stale(
    *, limit: int = CATCH_UP_BATCH, settle: datetime.timedelta = SETTLE
) -> list[str]:
    """Schemas of clinics whose live figures missed a change: one public query.

    Those without a row yet, and those whose public activity row (events.activity) shows an
    event newer than the one their figures were read after, `settle` ago or earlier (a change
    of the last seconds has its debounced refresh on the way).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _STALE_SQL,
            {
                "skip": ["public", template_schema_name()],
                "settled_before": timezone.now() - settle,
                "limit": limit,
            },
        )
        return [name for (name,) in cursor.fetchall()]


def clinic_live_figures_catch_up(*, limit: int = CATCH_UP_BATCH) -> int:
    """Publish the refresh of every clinic `clinics_live_figures_stale` finds; how many."""
    tenant_connection.set_schema_to_public()
    names = clinics_live_figures_stale(limit=limit)
    for clinic in Clinic.objects.filter(schema_name__in=names):
        # `with clinic` puts the schema in the message's header and routes it to its queue.
        with clinic:
            current_app.send_task(LIVE_FIGURES_REFRESH_TASK)
    tenant_connection.set_schema_to_public()
    if names:
        logger.info("Live figures catch-up: %d clinic(s) refreshed.", len(names))
    return len(names)


def live_figures_catch_up_schedule_ensure():
    """The catch-up's beat entry (every minute, platform queue), created if missing."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(
        every=CATCH_UP_EVERY_SECONDS, period=IntervalSchedule.SECONDS
    )
    task, _ = PeriodicTask.objects.get_or_create(
        name=CATCH_UP_PERIODIC_TASK_NAME,
        defaults={
            "task": CATCH_UP_TASK,
            "interval": every,
            "queue": settings.CLINICO_PLATFORM_QUEUE,
            "exchange": settings.CLINICO_PLATFORM_QUEUE,
            "routing_key": settings.CLINICO_PLATFORM_QUEUE,
            "description": "Refreshes the chain dashboard's figures of clinics whose refresh "
            "was missed (found with one public query).",
        },
    )
    return task
