"""Closing finished service days: open tickets expire, and each closed day's figures are computed.

Runs inside the clinic's schema; the clinic's timezone comes from `connection.tenant`. The caller
(the daily reset task) stores the figures wherever the dashboard reads them.
"""

import datetime
from collections.abc import Collection
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from queueing.clock import service_day_today
from queueing.models import OPEN_STATUSES, Ticket, TicketEvent, TicketEventKind, TicketStatus

# With the schema's hash, serialises concurrent closes of one clinic (beat firing during a
# catch-up) without serialising different clinics.
_DAY_CLOSE_LOCK_KEY = 0x44434C53


@dataclass(frozen=True)
class DayFigures:
    """One service day's figures, for the clinic as a whole and per service (`by_service`)."""

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


# Until queueing.selectors.queue.day_figures lands, the day's figures are computed here.
# Wait is issued -> called; service time is started -> finished of tickets that were served;
# "within target" counts called tickets whose wait was within their service's target.
_FIGURES_SQL = """
SELECT
    t.service_day,
    t.service_id,
    s.name,
    s.prefix,
    GROUPING(t.service_id, s.name, s.prefix) AS is_total,
    count(*) AS tickets,
    count(*) FILTER (WHERE t.status = 'done') AS served,
    count(*) FILTER (WHERE t.status = 'no_show') AS no_shows,
    count(*) FILTER (WHERE t.status = 'cancelled') AS cancelled,
    count(*) FILTER (WHERE t.status = 'expired') AS expired,
    count(*) FILTER (WHERE t.status = 'transferred') AS transferred,
    avg(extract(epoch FROM t.called_at - t.issued_at))
        FILTER (WHERE t.called_at IS NOT NULL) AS wait_avg_s,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.called_at - t.issued_at))
        FILTER (WHERE t.called_at IS NOT NULL) AS wait_p90_s,
    avg(extract(epoch FROM t.finished_at - t.started_at))
        FILTER (WHERE t.status = 'done' AND t.started_at IS NOT NULL
                AND t.finished_at IS NOT NULL) AS service_avg_s,
    count(*) FILTER (WHERE t.called_at IS NOT NULL) AS called,
    count(*) FILTER (
        WHERE t.called_at IS NOT NULL
        AND t.called_at - t.issued_at <= s.target_wait_minutes * interval '1 minute'
    ) AS within_target
FROM queueing_ticket t
JOIN queueing_service s ON s.id = t.service_id
WHERE t.service_day = ANY(%s)
GROUP BY GROUPING SETS ((t.service_day, t.service_id, s.name, s.prefix), (t.service_day))
ORDER BY t.service_day, is_total DESC, s.prefix
"""


def _round(value) -> float | None:
    return None if value is None else round(float(value), 1)


def _figures_of(row: dict) -> dict:
    called = row["called"]
    return {
        "tickets": row["tickets"],
        "served": row["served"],
        "no_shows": row["no_shows"],
        "cancelled": row["cancelled"],
        "expired": row["expired"],
        "transferred": row["transferred"],
        "wait_avg_s": _round(row["wait_avg_s"]),
        "wait_p90_s": _round(row["wait_p90_s"]),
        "service_avg_s": _round(row["service_avg_s"]),
        "within_target_share": round(row["within_target"] / called, 4) if called else None,
    }


def day_figures_compute(*, service_days: Collection[datetime.date]) -> list[DayFigures]:
    """Figures of each of `service_days` that has tickets, oldest first, in one query."""
    if not service_days:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_FIGURES_SQL, [sorted(service_days)])
        columns = [col.name for col in cursor.description]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    totals: dict[datetime.date, dict] = {}
    services: dict[datetime.date, list[dict]] = {}
    for row in rows:
        if row["is_total"]:
            totals[row["service_day"]] = _figures_of(row)
        else:
            services.setdefault(row["service_day"], []).append(
                {
                    "service_id": row["service_id"],
                    "service": row["name"],
                    "prefix": row["prefix"],
                    **_figures_of(row),
                }
            )
    return [
        DayFigures(service_day=day, by_service=services.get(day, []), **figures)
        for day, figures in sorted(totals.items())
    ]


def _expire_open_tickets(*, before: datetime.date, at: datetime.datetime) -> set[datetime.date]:
    """Expire every open ticket of a day before `before`, with an EXPIRED event each."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE queueing_ticket t
            SET status = %s
            FROM (
                SELECT id, status FROM queueing_ticket
                WHERE service_day < %s AND status = ANY(%s)
                FOR UPDATE
            ) AS old
            WHERE t.id = old.id
            RETURNING t.id, t.service_day, old.status
            """,
            [TicketStatus.EXPIRED, before, [str(s) for s in OPEN_STATUSES]],
        )
        expired = cursor.fetchall()
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket_id=ticket_id,
                kind=TicketEventKind.EXPIRED,
                at=at,
                from_status=from_status,
                to_status=TicketStatus.EXPIRED,
                detail={"reason": "day_closed", "service_day": day.isoformat()},
            )
            for ticket_id, day, from_status in expired
        ],
        batch_size=1000,
    )
    return {day for _, day, _ in expired}


@transaction.atomic
def days_close(*, closed_through: datetime.date | None = None) -> list[DayFigures]:
    """Close every finished service day of the current clinic that still needs closing.

    Days before the clinic's local today need closing when they have open tickets or come after
    `closed_through` (the last day already summarised; days are always closed up to yesterday
    together). Open tickets expire with an event; the figures of each day closed now are
    returned, oldest first. Running it again returns nothing and changes nothing.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", [_DAY_CLOSE_LOCK_KEY]
        )
    today = service_day_today()
    reopened = _expire_open_tickets(before=today, at=timezone.now())
    unsummarised = Ticket.objects.filter(service_day__lt=today)
    if closed_through is not None:
        unsummarised = unsummarised.filter(service_day__gt=closed_through)
    days = set(unsummarised.values_list("service_day", flat=True).distinct())
    return day_figures_compute(service_days=reopened | days)
