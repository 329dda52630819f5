"""Reads of the queue: today's tickets in call order, positions, estimated waits, panel, figures.

The estimated wait (docs/queue.md) of a waiting ticket is

    estimated_wait_minutes = ceil(position / active_desks) × mean_service_minutes

where `position` is 1 for the next ticket in the service's call order (tier, arrival, id),
`active_desks` the active desks serving the service, and `mean_service_minutes` the mean
called → finished time of the service's last 10 tickets finished today (5 minutes until there
are any). With no active desk the estimate is null: nobody is being called.
"""

import datetime
import math
from dataclasses import dataclass

from django.db import connection
from django.db.models import Avg, F, Prefetch, Q, QuerySet

from queueing.clock import service_day_today
from queueing.models import (
    OPEN_STATUSES,
    Desk,
    Service,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)

DEFAULT_SERVICE_MINUTES = 5.0
RECENT_TICKETS_FOR_MEAN = 10
PANEL_RECENT_CALLS = 10


@dataclass(frozen=True)
class ServicePace:
    """What a service's estimates are made of."""

    active_desks: int
    mean_service_minutes: float

    def estimate(self, position: int | None) -> int | None:
        if position is None or self.active_desks == 0:
            return None
        return math.ceil(math.ceil(position / self.active_desks) * self.mean_service_minutes)


def service_list() -> QuerySet[Service]:
    return Service.objects.order_by("name")


def desk_list() -> QuerySet[Desk]:
    return Desk.objects.prefetch_related(
        Prefetch("services", queryset=Service.objects.order_by("id"))
    ).order_by("name")


def service_pace(*, service_id: int, service_day: datetime.date) -> ServicePace:
    """Active desks and the recent mean service time (called → finished) of one service."""
    desks = Desk.objects.filter(is_active=True, services__id=service_id).distinct().count()
    recent = (
        Ticket.objects.filter(
            service_id=service_id,
            service_day=service_day,
            status=TicketStatus.DONE,
            called_at__isnull=False,
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .values("id")[:RECENT_TICKETS_FOR_MEAN]
    )
    mean = Ticket.objects.filter(id__in=recent).aggregate(
        mean=Avg(F("finished_at") - F("called_at"))
    )["mean"]
    minutes = mean.total_seconds() / 60 if mean else DEFAULT_SERVICE_MINUTES
    return ServicePace(active_desks=desks, mean_service_minutes=minutes)


def ticket_position(*, ticket: Ticket) -> int | None:
    """1 for the next to be called in its service; None once it is no longer waiting today."""
    if ticket.status != TicketStatus.WAITING or ticket.service_day != service_day_today():
        return None
    ahead = Ticket.objects.filter(
        service_id=ticket.service_id, service_day=ticket.service_day, status=TicketStatus.WAITING
    ).filter(
        Q(priority_tier__lt=ticket.priority_tier)
        | Q(priority_tier=ticket.priority_tier, arrived_at__lt=ticket.arrived_at)
        | Q(priority_tier=ticket.priority_tier, arrived_at=ticket.arrived_at, id__lt=ticket.pk)
    )
    return ahead.count() + 1


def ticket_position_and_estimate(*, ticket: Ticket) -> tuple[int | None, int | None]:
    """The ticket's place in its service's call order and its estimated wait in minutes."""
    position = ticket_position(ticket=ticket)
    if position is None:
        return None, None
    pace = service_pace(service_id=ticket.service_id, service_day=ticket.service_day)
    return position, pace.estimate(position)


def queue_today(*, service_id: int | None = None) -> list[dict]:
    """Today's open tickets per service: those at desks, then the waiting ones in call order."""
    today = service_day_today()
    services = Service.objects.filter(
        Q(is_active=True) | Q(tickets__service_day=today, tickets__status__in=OPEN_STATUSES)
    )
    if service_id is not None:
        services = services.filter(pk=service_id)
    services = list(services.distinct().order_by("name"))
    tickets = (
        Ticket.objects.filter(
            service_day=today,
            status__in=OPEN_STATUSES,
            service__in=[s.pk for s in services],
        )
        .select_related("desk", "patient")
        .order_by("service_id", "priority_tier", "arrived_at", "id")
    )
    by_service: dict[int, list[Ticket]] = {s.pk: [] for s in services}
    for ticket in tickets:
        by_service[ticket.service_id].append(ticket)
    result = []
    for service in services:
        pace = service_pace(service_id=service.pk, service_day=today)
        at_desks, waiting = [], []
        for ticket in by_service[service.pk]:
            if ticket.status == TicketStatus.WAITING:
                ticket.position = len(waiting) + 1
                ticket.estimated_wait_minutes = pace.estimate(ticket.position)
                waiting.append(ticket)
            else:
                ticket.position = None
                ticket.estimated_wait_minutes = None
                at_desks.append(ticket)
        at_desks.sort(key=lambda t: (t.called_at or t.issued_at, t.pk))
        result.append(
            {
                "service": service,
                "active_desks": pace.active_desks,
                "mean_service_minutes": round(pace.mean_service_minutes, 1),
                "waiting_count": len(waiting),
                "tickets": at_desks + waiting,
            }
        )
    return result


def ticket_get(*, ticket_id: int) -> Ticket | None:
    """A ticket with its service, desk, patient, links and events (oldest first)."""
    return (
        Ticket.objects.select_related("service", "desk", "patient", "transferred_from")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=TicketEvent.objects.select_related("desk", "actor").order_by("at", "id"),
            )
        )
        .filter(pk=ticket_id)
        .first()
    )


def ticket_transferred_to(*, ticket: Ticket) -> Ticket | None:
    return Ticket.objects.filter(transferred_from=ticket).first()


def panel_state(*, recent: int = PANEL_RECENT_CALLS) -> dict:
    """The waiting-room display: each active desk's current ticket and today's latest calls.

    Ticket codes, desk and service names only: nothing that identifies a patient.
    """
    today = service_day_today()
    desks = list(Desk.objects.filter(is_active=True).order_by("name"))
    held = {
        t.desk_id: t
        for t in Ticket.objects.filter(
            service_day=today,
            status__in=(TicketStatus.CALLED, TicketStatus.IN_SERVICE),
            desk__in=desks,
        )
        .select_related("service")
        .order_by("called_at")
    }
    calls = (
        TicketEvent.objects.filter(
            kind__in=(TicketEventKind.CALLED, TicketEventKind.RECALLED),
            ticket__service_day=today,
        )
        .select_related("ticket", "desk")
        .order_by("-at", "-id")[:recent]
    )
    return {
        "service_day": today,
        "desks": [
            {
                "desk_id": desk.pk,
                "desk": desk.name,
                "ticket": held.get(desk.pk),
            }
            for desk in desks
        ],
        "recent_calls": [
            {
                "event_id": event.pk,
                "display_code": event.ticket.display_code,
                "desk": event.desk.name if event.desk else "",
                "called_at": event.at,
                "recall": event.kind == TicketEventKind.RECALLED,
            }
            for event in calls
        ],
    }


# Wait is issued → first call (tickets keep their first called_at); service time is
# started → finished of done tickets; "within target" is the share of called tickets whose wait
# was within the service's target. p90 is percentile_cont (linear interpolation). Seconds.
_DAY_FIGURES_SQL = """
SELECT
    s.id AS service_id,
    s.name AS service,
    s.prefix,
    s.target_wait_minutes,
    count(t.id) AS tickets,
    count(t.id) FILTER (WHERE t.status = 'waiting') AS waiting,
    count(t.id) FILTER (WHERE t.status = 'called') AS called_now,
    count(t.id) FILTER (WHERE t.status = 'in_service') AS in_service,
    count(t.id) FILTER (WHERE t.status = 'done') AS served,
    count(t.id) FILTER (WHERE t.status = 'no_show') AS no_shows,
    count(t.id) FILTER (WHERE t.status = 'cancelled') AS cancelled,
    count(t.id) FILTER (WHERE t.status = 'transferred') AS transferred,
    count(t.id) FILTER (WHERE t.status = 'expired') AS expired,
    count(t.called_at) AS called,
    avg(extract(epoch FROM t.called_at - t.issued_at)) AS wait_avg_s,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.called_at - t.issued_at))
        AS wait_p90_s,
    avg(extract(epoch FROM t.finished_at - t.started_at)) FILTER (WHERE t.status = 'done')
        AS service_avg_s,
    count(t.id) FILTER (
        WHERE t.called_at - t.issued_at <= s.target_wait_minutes * interval '1 minute'
    ) AS within_target
FROM queueing_service s
LEFT JOIN queueing_ticket t ON t.service_id = s.id AND t.service_day = %s
GROUP BY s.id
HAVING s.is_active OR count(t.id) > 0
ORDER BY s.name
"""


def _seconds(value) -> float | None:
    return None if value is None else round(float(value), 1)


def day_figures(*, service_day: datetime.date) -> list[dict]:
    """One service day's figures per service (active services and any with tickets), one query.

    Keys: service_id, service, prefix, target_wait_minutes, tickets, waiting, called_now,
    in_service, served, no_shows, cancelled, transferred, expired, called, wait_avg_s,
    wait_p90_s, service_avg_s (seconds, 1 decimal) and within_target_share (0–1, 4 decimals;
    null when nobody was called).
    """
    with connection.cursor() as cursor:
        cursor.execute(_DAY_FIGURES_SQL, [service_day])
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    for row in rows:
        within = row.pop("within_target")
        row["within_target_share"] = round(within / row["called"], 4) if row["called"] else None
        for key in ("wait_avg_s", "wait_p90_s", "service_avg_s"):
            row[key] = _seconds(row[key])
    return rows
