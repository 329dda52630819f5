"""The figures of service days, per service and for the whole clinic, from one statement.

The stats API and the dashboard read today's; the daily reset stores each closed day's.

Wait is issued → first call (tickets keep their first called_at); service time is started →
finished of done tickets; "within target" is the share of called tickets whose wait was within
their service's target. p90 is percentile_cont (linear interpolation). Durations are seconds
with one decimal; the share has four decimals and is None while nobody was called.
"""

import datetime
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, TypedDict

from django.db import connection

from common.sql import Params
from queueing.models import Service, Ticket, TicketStatus


class Figures(TypedDict):
    tickets: int
    waiting: int  # now
    called_now: int
    in_service: int
    served: int
    no_shows: int
    cancelled: int
    transferred: int
    expired: int  # closed by the daily reset while open
    called: int  # called at least once
    wait_avg_s: float | None
    wait_p90_s: float | None
    service_avg_s: float | None
    within_target_share: float | None


class ServiceFigures(Figures):
    service_id: int
    service: str
    prefix: str
    target_wait_minutes: int


@dataclass(frozen=True)
class DayFigures:
    """One service day's figures: the clinic's (all services together) and each service's."""

    service_day: datetime.date
    clinic: Figures
    services: list[ServiceFigures]  # by name


_COUNTS = {
    "waiting": TicketStatus.WAITING,
    "called_now": TicketStatus.CALLED,
    "in_service": TicketStatus.IN_SERVICE,
    "served": TicketStatus.DONE,
    "no_shows": TicketStatus.NO_SHOW,
    "cancelled": TicketStatus.CANCELLED,
    "transferred": TicketStatus.TRANSFERRED,
    "expired": TicketStatus.EXPIRED,
}
_SECONDS = ("wait_avg_s", "wait_p90_s", "service_avg_s")


def _figures_sql(*, params: Params, service_days: list[datetime.date], idle_services: bool) -> str:
    """Per service and day, and per day (GROUPING SETS), over the days' tickets.

    Grouped by ids only, the services' names joined afterwards: as fast as one level of figures.
    With `idle_services`, active services without tickets have a row of zeros too; otherwise
    only services and days with tickets have rows.
    """
    statuses = {key: params.add(key, str(status)) for key, status in _COUNTS.items()}
    counts = ",\n        ".join(
        f"count(*) FILTER (WHERE t.status = {statuses[key]}) AS {key}" for key in _COUNTS
    )
    days = params.add("days", service_days)
    service = Service._meta.db_table
    idle = ""
    if idle_services:
        zeros = ", ".join("0" for _ in ("tickets", *_COUNTS, "called"))
        idle = f"""UNION ALL
SELECT d.service_day, false, s.id, {zeros}, NULL, NULL, NULL, 0,
       s.name, s.prefix, s.target_wait_minutes
FROM unnest({days}::date[]) AS d(service_day) JOIN {service} s ON s.is_active
WHERE NOT EXISTS (SELECT FROM figures f WHERE f.service_id = s.id AND f.service_day = d.service_day)
"""
    return f"""
WITH figures AS (
    SELECT
        t.service_day,
        GROUPING(t.service_id) = 1 AS is_clinic,
        t.service_id,
        count(*) AS tickets,
        {counts},
        count(t.called_at) AS called,
        avg(extract(epoch FROM t.called_at - t.issued_at)) AS wait_avg_s,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.called_at - t.issued_at))
            AS wait_p90_s,
        avg(extract(epoch FROM t.finished_at - t.started_at))
            FILTER (WHERE t.status = {statuses["served"]}) AS service_avg_s,
        count(*) FILTER (
            WHERE t.called_at - t.issued_at <= s.target_wait_minutes * interval '1 minute'
        ) AS within_target
    FROM {Ticket._meta.db_table} t JOIN {service} s ON s.id = t.service_id
    WHERE t.service_day = ANY({days})
    GROUP BY GROUPING SETS ((t.service_day, t.service_id), (t.service_day))
)
SELECT f.*, s.name AS service, s.prefix, s.target_wait_minutes
FROM figures f LEFT JOIN {service} s ON s.id = f.service_id
{idle}ORDER BY service_day, is_clinic DESC, service
"""


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _figures(row: dict[str, Any]) -> Figures:
    called = row["called"]
    return Figures(
        tickets=row["tickets"],
        waiting=row["waiting"],
        called_now=row["called_now"],
        in_service=row["in_service"],
        served=row["served"],
        no_shows=row["no_shows"],
        cancelled=row["cancelled"],
        transferred=row["transferred"],
        expired=row["expired"],
        called=called,
        wait_avg_s=_seconds(row["wait_avg_s"]),
        wait_p90_s=_seconds(row["wait_p90_s"]),
        service_avg_s=_seconds(row["service_avg_s"]),
        within_target_share=round(row["within_target"] / called, 4) if called else None,
    )


def _no_tickets() -> Figures:
    return _figures(
        {key: 0 for key in ("tickets", "called", "within_target", *_COUNTS)}
        | {key: None for key in _SECONDS}
    )


def _day_figures(
    *, service_days: Collection[datetime.date], idle_services: bool
) -> dict[datetime.date, DayFigures]:
    params = Params()
    sql = _figures_sql(
        params=params, service_days=sorted(service_days), idle_services=idle_services
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    days: dict[datetime.date, DayFigures] = {}
    for row in rows:
        day = row["service_day"]
        if row["is_clinic"]:
            days[day] = DayFigures(service_day=day, clinic=_figures(row), services=[])
        else:
            service = ServiceFigures(
                service_id=row["service_id"],
                service=row["service"],
                prefix=row["prefix"],
                target_wait_minutes=row["target_wait_minutes"],
                **_figures(row),
            )
            if day not in days:  # a day without tickets: no clinic row, only idle services
                days[day] = DayFigures(service_day=day, clinic=_no_tickets(), services=[])
            days[day].services.append(service)
    return days


def day_figures_get(*, service_day: datetime.date) -> DayFigures:
    """One day's figures: the clinic's, and each active service's or any with tickets that day."""
    days = _day_figures(service_days=[service_day], idle_services=True)
    return days.get(service_day) or DayFigures(
        service_day=service_day, clinic=_no_tickets(), services=[]
    )


def day_figures_list(*, service_days: Collection[datetime.date]) -> list[DayFigures]:
    """The figures of each of `service_days` that has tickets, oldest first; services with tickets.

    One statement, whatever the number of days.
    """
    if not service_days:
        return []
    return list(_day_figures(service_days=service_days, idle_services=False).values())
