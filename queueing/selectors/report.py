"""The clinic's figures over a range of service days: per hour, service, attendant and desk.

Backs the figures page, its CSV and `GET /api/v1/figures/`. Definitions (docs/queue.md):

- arrivals: tickets that entered the clinic (not the second ticket of a transfer), by the
  clinic-local hour of arrival;
- calls: tickets called at least once, by the hour of their first call;
- wait: issued → first call, in seconds; p50/p90 are percentile_cont (linear interpolation),
  per hour of issue and per service;
- service time: started → finished of served (`done`) tickets;
- within target: share of called tickets whose wait was within their service's target;
- break time: seconds each desk spent on breaks within the range (an open break counts to now);
- out-of-order calls: calls of a chosen ticket (CALLED events marked `out_of_order`), per
  service day and desk; they count among the calls too.

Per attendant is the user who first called the ticket; per desk is the desk that called it.
"""

import csv
import datetime
import io
from dataclasses import dataclass
from typing import Any, TypedDict

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from common.spreadsheet import spreadsheet_text
from common.sql import Params
from queueing.clock import clinic_timezone
from queueing.models import (
    Desk,
    DeskBreak,
    Service,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)

MAX_REPORT_DAYS = 366

TICKET = Ticket._meta.db_table
SERVICE = Service._meta.db_table
DESK = Desk._meta.db_table
DESK_BREAK = DeskBreak._meta.db_table
EVENT = TicketEvent._meta.db_table


class HourRow(TypedDict):
    hour: int  # clinic-local, 0–23
    arrivals: int
    calls: int
    wait_p50_s: float | None
    wait_p90_s: float | None


class ServiceRow(TypedDict):
    service_id: int
    service: str
    prefix: str
    target_wait_minutes: int
    arrivals: int
    calls: int
    served: int
    no_shows: int
    cancelled: int
    wait_p50_s: float | None
    wait_p90_s: float | None
    service_avg_s: float | None
    within_target_share: float | None


class AttendantRow(TypedDict):
    user_id: int | None
    attendant: str
    calls: int
    served: int
    service_avg_s: float | None
    service_total_s: float


class DeskRow(TypedDict):
    desk_id: int
    desk: str
    calls: int
    served: int
    service_avg_s: float | None
    break_s: float
    out_of_order_calls: int


class OutOfOrderRow(TypedDict):
    service_day: datetime.date
    desk_id: int | None
    desk: str
    calls: int


class Totals(TypedDict):
    arrivals: int
    calls: int
    served: int
    no_shows: int
    cancelled: int
    wait_p50_s: float | None
    wait_p90_s: float | None
    service_avg_s: float | None
    within_target_share: float | None
    break_s: float
    out_of_order_calls: int


@dataclass(frozen=True)
class FiguresReport:
    date_from: datetime.date
    date_to: datetime.date
    totals: Totals
    hours: list[HourRow]  # from the first to the last hour with any arrival or call
    services: list[ServiceRow]  # by name
    attendants: list[AttendantRow]  # most calls first
    desks: list[DeskRow]  # by name
    out_of_order: list[OutOfOrderRow]  # by day, then desk


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _rows(sql: str, params: Params) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def _days_sql(p: Params, date_from: datetime.date, date_to: datetime.date) -> str:
    return f"t.service_day BETWEEN {p.add('date_from', date_from)} AND {p.add('date_to', date_to)}"


# The figures of a group of tickets `t` (joined with their service `s`).
_GROUP_FIGURES = """
    count(*) FILTER (WHERE t.transferred_from_id IS NULL) AS arrivals,
    count(t.called_at) AS calls,
    count(*) FILTER (WHERE t.status = %(done)s) AS served,
    count(*) FILTER (WHERE t.status = %(no_show)s) AS no_shows,
    count(*) FILTER (WHERE t.status = %(cancelled)s) AS cancelled,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.called_at - t.issued_at))
        AS wait_p50_s,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.called_at - t.issued_at))
        AS wait_p90_s,
    avg(extract(epoch FROM t.finished_at - t.started_at)) FILTER (WHERE t.status = %(done)s)
        AS service_avg_s,
    count(*) FILTER (
        WHERE t.called_at - t.issued_at <= s.target_wait_minutes * interval '1 minute'
    ) AS within_target
"""


def _status_params(p: Params) -> None:
    p.add("done", str(TicketStatus.DONE))
    p.add("no_show", str(TicketStatus.NO_SHOW))
    p.add("cancelled", str(TicketStatus.CANCELLED))


def _share(row: dict[str, Any]) -> float | None:
    return round(row["within_target"] / row["calls"], 4) if row["calls"] else None


def _hours(date_from: datetime.date, date_to: datetime.date, tz: str) -> list[HourRow]:
    p = Params()
    days = _days_sql(p, date_from, date_to)
    zone = p.add("tz", tz)
    sql = f"""
WITH tk AS MATERIALIZED (SELECT * FROM {TICKET} t WHERE {days}),
arrivals AS (
    SELECT extract(hour FROM arrived_at AT TIME ZONE {zone})::int AS hour, count(*) AS n
    FROM tk WHERE transferred_from_id IS NULL GROUP BY 1),
calls AS (
    SELECT extract(hour FROM called_at AT TIME ZONE {zone})::int AS hour, count(*) AS n
    FROM tk WHERE called_at IS NOT NULL GROUP BY 1),
waits AS (
    SELECT extract(hour FROM issued_at AT TIME ZONE {zone})::int AS hour,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM called_at - issued_at))
               AS p50,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM called_at - issued_at))
               AS p90
    FROM tk WHERE called_at IS NOT NULL GROUP BY 1)
SELECT h.hour, coalesce(a.n, 0) AS arrivals, coalesce(c.n, 0) AS calls,
       w.p50 AS wait_p50_s, w.p90 AS wait_p90_s
FROM generate_series(0, 23) AS h(hour)
LEFT JOIN arrivals a ON a.hour = h.hour
LEFT JOIN calls c ON c.hour = h.hour
LEFT JOIN waits w ON w.hour = h.hour
ORDER BY h.hour
"""
    rows = _rows(sql, p)
    busy = [r["hour"] for r in rows if r["arrivals"] or r["calls"] or r["wait_p50_s"] is not None]
    if not busy:
        return []
    return [
        HourRow(
            hour=r["hour"],
            arrivals=r["arrivals"],
            calls=r["calls"],
            wait_p50_s=_seconds(r["wait_p50_s"]),
            wait_p90_s=_seconds(r["wait_p90_s"]),
        )
        for r in rows
        if min(busy) <= r["hour"] <= max(busy)
    ]


def _services_and_totals(
    date_from: datetime.date, date_to: datetime.date
) -> tuple[list[ServiceRow], dict[str, Any]]:
    p = Params()
    _status_params(p)
    days = _days_sql(p, date_from, date_to)
    sql = f"""
SELECT GROUPING(t.service_id) = 1 AS is_total, t.service_id, {_GROUP_FIGURES}
FROM {TICKET} t JOIN {SERVICE} s ON s.id = t.service_id
WHERE {days}
GROUP BY GROUPING SETS ((t.service_id), ())
"""
    rows = _rows(sql, p)
    total = next((r for r in rows if r["is_total"]), None)
    by_id = {r["service_id"]: r for r in rows if not r["is_total"]}
    services = list(Service.objects.filter(pk__in=by_id) | Service.objects.filter(is_active=True))
    result = []
    for service in sorted(services, key=lambda s: s.name):
        row = by_id.get(service.pk)
        result.append(
            ServiceRow(
                service_id=service.pk,
                service=service.name,
                prefix=service.prefix,
                target_wait_minutes=service.target_wait_minutes,
                arrivals=row["arrivals"] if row else 0,
                calls=row["calls"] if row else 0,
                served=row["served"] if row else 0,
                no_shows=row["no_shows"] if row else 0,
                cancelled=row["cancelled"] if row else 0,
                wait_p50_s=_seconds(row["wait_p50_s"]) if row else None,
                wait_p90_s=_seconds(row["wait_p90_s"]) if row else None,
                service_avg_s=_seconds(row["service_avg_s"]) if row else None,
                within_target_share=_share(row) if row else None,
            )
        )
    return result, total or {}


def _attendants(date_from: datetime.date, date_to: datetime.date) -> list[AttendantRow]:
    p = Params()
    _status_params(p)
    days = _days_sql(p, date_from, date_to)
    sql = f"""
SELECT t.called_by_id AS user_id,
       count(*) AS calls,
       count(*) FILTER (WHERE t.status = %(done)s) AS served,
       avg(extract(epoch FROM t.finished_at - t.started_at)) FILTER (WHERE t.status = %(done)s)
           AS service_avg_s,
       coalesce(sum(extract(epoch FROM t.finished_at - t.started_at))
           FILTER (WHERE t.status = %(done)s), 0) AS service_total_s
FROM {TICKET} t
WHERE {days} AND t.called_at IS NOT NULL
GROUP BY t.called_by_id
"""
    rows = _rows(sql, p)
    users = User.objects.in_bulk([r["user_id"] for r in rows if r["user_id"] is not None])
    result = []
    for r in rows:
        user = users.get(r["user_id"]) if r["user_id"] is not None else None
        name = (user.full_name or user.email) if user else "—"
        result.append(
            AttendantRow(
                user_id=r["user_id"],
                attendant=name,
                calls=r["calls"],
                served=r["served"],
                service_avg_s=_seconds(r["service_avg_s"]),
                service_total_s=_seconds(r["service_total_s"]) or 0.0,
            )
        )
    return sorted(result, key=lambda a: (-a["calls"], a["attendant"]))


def _range_bounds(
    date_from: datetime.date, date_to: datetime.date
) -> tuple[datetime.datetime, datetime.datetime]:
    zone = clinic_timezone()
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(
        date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )
    return start, end


def desk_break_seconds(*, date_from: datetime.date, date_to: datetime.date) -> dict[int, float]:
    """Seconds each desk spent on breaks within the clinic-local days (open breaks: to now)."""
    start, end = _range_bounds(date_from, date_to)
    p = Params()
    lo, hi, now = p.add("start", start), p.add("end", end), p.add("now", timezone.now())
    sql = f"""
SELECT b.desk_id, sum(extract(epoch FROM
           least(coalesce(b.ended_at, {now}), {hi}) - greatest(b.started_at, {lo}))) AS seconds
FROM {DESK_BREAK} b
WHERE b.started_at < {hi} AND coalesce(b.ended_at, {now}) > {lo}
GROUP BY b.desk_id
"""
    return {
        r["desk_id"]: max(0.0, round(float(r["seconds"]), 1))
        for r in _rows(sql, p)
        if r["seconds"] is not None
    }


class DeskBreakFigures(TypedDict):
    desk_id: int
    desk: str
    on_break: str  # the reason of the current break; "" when open
    break_s: float


def desk_break_figures(*, service_day: datetime.date) -> list[DeskBreakFigures]:
    """Each active desk (and any that had a break that day): seconds on breaks, break now."""
    breaks = desk_break_seconds(date_from=service_day, date_to=service_day)
    desks = Desk.objects.filter(pk__in=breaks) | Desk.objects.filter(is_active=True)
    return [
        DeskBreakFigures(
            desk_id=desk.pk,
            desk=desk.name,
            on_break=desk.break_reason,
            break_s=breaks.get(desk.pk, 0.0),
        )
        for desk in sorted(set(desks), key=lambda d: d.name)
    ]


def _out_of_order(date_from: datetime.date, date_to: datetime.date) -> list[OutOfOrderRow]:
    p = Params()
    days = _days_sql(p, date_from, date_to)
    sql = f"""
SELECT t.service_day, e.desk_id, count(*) AS calls
FROM {EVENT} e JOIN {TICKET} t ON t.id = e.ticket_id
WHERE {days} AND e.kind = {p.add("called", str(TicketEventKind.CALLED))}
      AND (e.detail ->> 'out_of_order')::boolean
GROUP BY t.service_day, e.desk_id
"""
    rows = _rows(sql, p)
    names = dict(Desk.objects.filter(pk__in={r["desk_id"] for r in rows}).values_list("pk", "name"))
    return sorted(
        (
            OutOfOrderRow(
                service_day=r["service_day"],
                desk_id=r["desk_id"],
                desk=names.get(r["desk_id"], "—"),
                calls=r["calls"],
            )
            for r in rows
        ),
        key=lambda r: (r["service_day"], r["desk"]),
    )


def _desks(
    date_from: datetime.date, date_to: datetime.date, out_of_order: list[OutOfOrderRow]
) -> list[DeskRow]:
    p = Params()
    _status_params(p)
    days = _days_sql(p, date_from, date_to)
    sql = f"""
SELECT t.desk_id,
       count(*) AS calls,
       count(*) FILTER (WHERE t.status = %(done)s) AS served,
       avg(extract(epoch FROM t.finished_at - t.started_at)) FILTER (WHERE t.status = %(done)s)
           AS service_avg_s
FROM {TICKET} t
WHERE {days} AND t.called_at IS NOT NULL AND t.desk_id IS NOT NULL
GROUP BY t.desk_id
"""
    by_id = {r["desk_id"]: r for r in _rows(sql, p)}
    breaks = desk_break_seconds(date_from=date_from, date_to=date_to)
    desks = Desk.objects.filter(pk__in=set(by_id) | set(breaks)) | Desk.objects.filter(
        is_active=True
    )
    chosen: dict[int | None, int] = {}
    for r in out_of_order:
        chosen[r["desk_id"]] = chosen.get(r["desk_id"], 0) + r["calls"]
    result = []
    for desk in sorted(set(desks), key=lambda d: d.name):
        row = by_id.get(desk.pk)
        result.append(
            DeskRow(
                desk_id=desk.pk,
                desk=desk.name,
                calls=row["calls"] if row else 0,
                served=row["served"] if row else 0,
                service_avg_s=_seconds(row["service_avg_s"]) if row else None,
                break_s=breaks.get(desk.pk, 0.0),
                out_of_order_calls=chosen.get(desk.pk, 0),
            )
        )
    return result


def figures_report_get(*, date_from: datetime.date, date_to: datetime.date) -> FiguresReport:
    """The current clinic's figures over service days `date_from`..`date_to` (inclusive)."""
    if date_from > date_to:
        raise ValueError("date_from is after date_to")
    tz = str(clinic_timezone())
    services, total = _services_and_totals(date_from, date_to)
    out_of_order = _out_of_order(date_from, date_to)
    desks = _desks(date_from, date_to, out_of_order)
    totals = Totals(
        arrivals=total.get("arrivals", 0),
        calls=total.get("calls", 0),
        served=total.get("served", 0),
        no_shows=total.get("no_shows", 0),
        cancelled=total.get("cancelled", 0),
        wait_p50_s=_seconds(total.get("wait_p50_s")),
        wait_p90_s=_seconds(total.get("wait_p90_s")),
        service_avg_s=_seconds(total.get("service_avg_s")),
        within_target_share=_share(total) if total else None,
        break_s=round(sum(d["break_s"] for d in desks), 1),
        out_of_order_calls=sum(r["calls"] for r in out_of_order),
    )
    return FiguresReport(
        date_from=date_from,
        date_to=date_to,
        totals=totals,
        hours=_hours(date_from, date_to, tz),
        services=services,
        attendants=_attendants(date_from, date_to),
        desks=desks,
        out_of_order=out_of_order,
    )


def _csv_value(value: Any) -> str:
    """pt-BR spreadsheets read a decimal comma; an empty cell for no value; names never formulas."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".").replace(".", ",")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        return spreadsheet_text(value)  # a desk named =HYPERLINK(…) stays text
    return str(value)


CSV_SECTIONS: dict[str, tuple[str, ...]] = {
    "totals": tuple(Totals.__annotations__),
    "hours": tuple(HourRow.__annotations__),
    "services": tuple(k for k in ServiceRow.__annotations__ if k != "service_id"),
    "attendants": tuple(k for k in AttendantRow.__annotations__ if k != "user_id"),
    "desks": tuple(k for k in DeskRow.__annotations__ if k != "desk_id"),
    "out_of_order": tuple(k for k in OutOfOrderRow.__annotations__ if k != "desk_id"),
}


# The CSV's words for people reading it in a spreadsheet; the columns stay in the API's order.
CSV_SECTION_NAMES = {
    "totals": gettext_lazy("Totals"),
    "hours": gettext_lazy("Per hour"),
    "services": gettext_lazy("Per service"),
    "attendants": gettext_lazy("Per attendant"),
    "desks": gettext_lazy("Per desk"),
    "out_of_order": gettext_lazy("Calls out of order"),
}
CSV_LABELS = {
    "arrivals": gettext_lazy("Arrivals"),
    "calls": gettext_lazy("Calls"),
    "served": gettext_lazy("Served"),
    "no_shows": gettext_lazy("No-shows"),
    "cancelled": gettext_lazy("Cancelled"),
    "wait_p50_s": gettext_lazy("Wait p50 (s)"),
    "wait_p90_s": gettext_lazy("Wait p90 (s)"),
    "service_avg_s": gettext_lazy("Average service time (s)"),
    "within_target_share": gettext_lazy("Share within target (0–1)"),
    "break_s": gettext_lazy("Break time (s)"),
    "hour": gettext_lazy("Hour"),
    "service": gettext_lazy("Service"),
    "prefix": gettext_lazy("Ticket prefix"),
    "target_wait_minutes": gettext_lazy("Target wait (minutes)"),
    "attendant": gettext_lazy("Attendant"),
    "service_total_s": gettext_lazy("Total service time (s)"),
    "desk": gettext_lazy("Desk"),
    "out_of_order_calls": gettext_lazy("Calls out of order"),
    "service_day": gettext_lazy("Day"),
}


def figures_report_csv(*, report: FiguresReport, clinic_name: str) -> str:
    """The report as CSV for spreadsheets: UTF-8 with a BOM, `;` between cells, decimal commas.

    One block per section (totals, hours, services, attendants, desks, out_of_order): its name,
    a header naming the API's keys in the request's language, its rows, a blank line. Durations
    are seconds, shares 0–1, as in the API.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            _("Clinic"),
            spreadsheet_text(clinic_name),
            _("From"),
            report.date_from.isoformat(),
            _("To"),
            report.date_to.isoformat(),
        ]
    )
    writer.writerow([])
    sections: dict[str, list[Any]] = {
        "totals": [report.totals],
        "hours": report.hours,
        "services": report.services,
        "attendants": report.attendants,
        "desks": report.desks,
        "out_of_order": report.out_of_order,
    }
    for name, rows in sections.items():
        keys = CSV_SECTIONS[name]
        writer.writerow([str(CSV_SECTION_NAMES[name])])
        writer.writerow([str(CSV_LABELS[key]) for key in keys])
        for row in rows:
            writer.writerow([_csv_value(row[key]) for key in keys])
        writer.writerow([])
    return "\ufeff" + out.getvalue()
