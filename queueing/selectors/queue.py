"""Reads of the queue: today's tickets in call order, positions, estimated waits, the panel.

The estimated wait (docs/queue.md) of a waiting ticket is

    estimated_wait_minutes = ceil(position / active_desks) × mean_service_minutes

where `position` is 1 for the next ticket in the service's call order (tier, arrival, id),
`active_desks` the active desks serving the service that are not on a break, and
`mean_service_minutes` the mean called → finished time of the service's last 10 tickets
finished today (5 minutes until there are any). With no open desk the estimate is null: nobody
is being called.
"""

import datetime
import math
from dataclasses import dataclass
from typing import TypedDict

from django.db.models import Avg, F, Prefetch, Q, QuerySet

from queueing.clock import service_day_today
from queueing.models import (
    OPEN_STATUSES,
    Desk,
    Panel,
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


@dataclass(frozen=True)
class QueuedTicket:
    """An open ticket of today's queue, with its place in the call order when it is waiting."""

    ticket: Ticket
    position: int | None
    estimated_wait_minutes: int | None


class ServiceQueue(TypedDict):
    """One service's part of today's queue."""

    service: Service
    active_desks: int
    mean_service_minutes: float
    waiting_count: int
    tickets: list[QueuedTicket]


class PanelDesk(TypedDict):
    desk_id: int
    desk: str
    ticket: Ticket | None
    closed: bool  # on a break


class PanelCall(TypedDict):
    event_id: int
    display_code: str
    desk: str
    called_at: datetime.datetime
    recall: bool
    transferred_to: str | None  # the new ticket's code, when the called one was transferred


class PanelState(TypedDict):
    """What the waiting-room display is made of (see `panel_state`)."""

    service_day: datetime.date
    desks: list[PanelDesk]
    recent_calls: list[PanelCall]


def service_list() -> QuerySet[Service]:
    return Service.objects.order_by("display_order", "name")


def desk_list() -> QuerySet[Desk]:
    return Desk.objects.prefetch_related(
        Prefetch("services", queryset=Service.objects.order_by("id"))
    ).order_by("name")


def service_pace(*, service_id: int, service_day: datetime.date) -> ServicePace:
    """Active desks and the recent mean service time (called → finished) of one service."""
    desks = (
        Desk.objects.filter(is_active=True, break_reason="", services__id=service_id)
        .distinct()
        .count()
    )
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
        | Q(priority_tier=ticket.priority_tier, rank_at__lt=ticket.rank_at)
        | Q(priority_tier=ticket.priority_tier, rank_at=ticket.rank_at, id__lt=ticket.pk)
    )
    return ahead.count() + 1


def ticket_position_and_estimate(*, ticket: Ticket) -> tuple[int | None, int | None]:
    """The ticket's place in its service's call order and its estimated wait in minutes."""
    position = ticket_position(ticket=ticket)
    if position is None:
        return None, None
    pace = service_pace(service_id=ticket.service_id, service_day=ticket.service_day)
    return position, pace.estimate(position)


def queue_today(*, service_id: int | None = None) -> list[ServiceQueue]:
    """Today's open tickets per service: those at desks, then the waiting ones in call order."""
    today = service_day_today()
    candidates = Service.objects.filter(
        Q(is_active=True) | Q(tickets__service_day=today, tickets__status__in=OPEN_STATUSES)
    )
    if service_id is not None:
        candidates = candidates.filter(pk=service_id)
    services = list(candidates.distinct().order_by("name"))
    tickets = (
        Ticket.objects.filter(
            service_day=today,
            status__in=OPEN_STATUSES,
            service__in=[s.pk for s in services],
        )
        .select_related("desk", "patient")
        .order_by("service_id", "priority_tier", "rank_at", "id")
    )
    by_service: dict[int, list[Ticket]] = {s.pk: [] for s in services}
    for ticket in tickets:
        by_service[ticket.service_id].append(ticket)
    result: list[ServiceQueue] = []
    for service in services:
        pace = service_pace(service_id=service.pk, service_day=today)
        at_desks: list[QueuedTicket] = []
        waiting: list[QueuedTicket] = []
        for ticket in by_service[service.pk]:
            if ticket.status == TicketStatus.WAITING:
                position = len(waiting) + 1
                waiting.append(QueuedTicket(ticket, position, pace.estimate(position)))
            else:
                at_desks.append(QueuedTicket(ticket, None, None))
        at_desks.sort(key=lambda q: (q.ticket.called_at or q.ticket.issued_at, q.ticket.pk))
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


def panel_list() -> QuerySet[Panel]:
    return Panel.objects.prefetch_related(
        Prefetch("desks", queryset=Desk.objects.order_by("id")),
        Prefetch("services", queryset=Service.objects.order_by("id")),
    ).order_by("-is_default", "name")


def panel_get(*, panel_id: int) -> Panel | None:
    return panel_list().filter(pk=panel_id).first()


def panel_by_key_hash(*, key_hash: str) -> Panel | None:
    """The panel of the current clinic whose key has this digest."""
    return Panel.objects.filter(key_hash=key_hash).first() if key_hash else None


def panel_desks(*, panel: Panel | None, active_only: bool = True) -> QuerySet[Desk]:
    """The active desks `panel` shows: its desks and the desks serving its services (or all).

    `active_only=False` adds the inactive ones it would show once activated (its live stream).
    """
    desks = Desk.objects.filter(is_active=True) if active_only else Desk.objects.all()
    if panel is None:
        return desks
    desk_ids = list(panel.desks.values_list("pk", flat=True))
    service_ids = list(panel.services.values_list("pk", flat=True))
    if not desk_ids and not service_ids:
        return desks
    return desks.filter(Q(pk__in=desk_ids) | Q(services__in=service_ids)).distinct()


def panel_state(*, recent: int = PANEL_RECENT_CALLS, panel: Panel | None = None) -> PanelState:
    """The waiting-room display: each shown desk's current ticket and today's latest calls.

    `panel` limits both to its desks (None: every desk, for staff). Ticket codes, desk and
    service names only: nothing that identifies a patient.
    """
    today = service_day_today()
    desks = list(panel_desks(panel=panel).order_by("name"))
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
    calls = list(
        TicketEvent.objects.filter(
            kind__in=(TicketEventKind.CALLED, TicketEventKind.RECALLED),
            ticket__service_day=today,
            **({"desk__in": desks} if panel is not None else {}),
        )
        .select_related("ticket", "desk")
        .order_by("-at", "-id")[:recent]
    )
    moved = [e.ticket_id for e in calls if e.ticket.status == TicketStatus.TRANSFERRED]
    transferred_to = (
        dict(
            Ticket.objects.filter(transferred_from_id__in=moved).values_list(
                "transferred_from_id", "display_code"
            )
        )
        if moved
        else {}
    )
    return {
        "service_day": today,
        "desks": [
            {
                "desk_id": desk.pk,
                "desk": desk.name,
                "ticket": held.get(desk.pk),
                "closed": desk.on_break,
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
                "transferred_to": transferred_to.get(event.ticket_id),
            }
            for event in calls
        ],
    }
