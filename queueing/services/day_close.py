"""Closing finished service days: open tickets expire, and each closed day's figures are computed.

Runs inside the clinic's schema; the clinic's timezone comes from `connection.tenant`. The caller
(the daily reset task) stores the figures wherever the dashboard reads them.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from common.sql import advisory_xact_lock
from events.services import event_record
from queueing.clock import service_day_today
from queueing.models import Ticket
from queueing.selectors.figures import DayFigures, day_figures_list
from queueing.services.retention import retention_apply
from queueing.services.ticket_sql import tickets_expire

# With the schema's hash, serialises concurrent closes of one clinic (beat firing during a
# catch-up) without serialising different clinics.
_DAY_CLOSE_LOCK_KEY = 0x44434C53

# The figures a closed day keeps, for the clinic and for each service (`by_service`).
SUMMARY_KEYS = (
    "tickets",
    "served",
    "no_shows",
    "cancelled",
    "expired",
    "transferred",
    "wait_avg_s",
    "wait_p90_s",
    "service_avg_s",
    "within_target_share",
)


@dataclass(frozen=True)
class DaySummary:
    """A closed service day's figures, for the clinic as a whole and per service (`by_service`)."""

    service_day: datetime.date
    tickets: int
    served: int
    no_shows: int
    cancelled: int
    expired: int
    transferred: int
    wait_avg_s: float | None
    wait_p90_s: float | None
    service_avg_s: float | None
    within_target_share: float | None
    by_service: list[dict] = field(default_factory=list)


def _kept(figures: Mapping[str, Any]) -> dict[str, Any]:
    return {key: figures[key] for key in SUMMARY_KEYS}


def _summary(day: DayFigures) -> DaySummary:
    """The day's figures as kept once it is closed: services by prefix, the kept keys only."""
    return DaySummary(
        service_day=day.service_day,
        **_kept(day.clinic),
        by_service=[
            {
                "service_id": service["service_id"],
                "service": service["service"],
                "prefix": service["prefix"],
                **_kept(service),
            }
            for service in sorted(day.services, key=lambda service: service["prefix"])
        ],
    )


def _closed_event_data(summary: DaySummary) -> dict[str, Any]:
    """What the stream says of a closed day: its date and the clinic's figures (no services)."""
    return {
        "service_day": summary.service_day.isoformat(),
        **{key: getattr(summary, key) for key in SUMMARY_KEYS},
    }


@transaction.atomic
def days_close(*, closed_through: datetime.date | None = None) -> list[DaySummary]:
    """Close every finished service day of the current clinic that still needs closing.

    Days before the clinic's local today need closing when they have open tickets or come after
    `closed_through` (the last day already summarised; days are always closed up to yesterday
    together). Open tickets expire with an event, each day closed now gets a `day.closed` event
    in the clinic's stream, and their figures are returned, oldest first. Running it again
    returns nothing and changes nothing.
    """
    advisory_xact_lock(key=_DAY_CLOSE_LOCK_KEY)
    today = service_day_today()
    reopened = tickets_expire(before=today, at=timezone.now())
    unsummarised = Ticket.objects.filter(service_day__lt=today)
    if closed_through is not None:
        unsummarised = unsummarised.filter(service_day__gt=closed_through)
    days = set(unsummarised.values_list("service_day", flat=True).distinct())
    summaries = [_summary(day) for day in day_figures_list(service_days=reopened | days)]
    for summary in summaries:
        event_record(kind="day.closed", data=_closed_event_data(summary))
    retention_apply()
    return summaries
