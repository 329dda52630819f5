"""Reads of check-ins: status, and the ticket's position and estimated wait.

Estimated wait = position × average service time ÷ active desks serving the service, where the
average is the started → finished time of the service's last finished tickets (5 minutes until
there are any) and the desk count is at least 1. Rounded up to whole minutes.
"""

import math
import uuid

from django.db.models import Avg, F, Q

from queueing.models import CheckIn, Desk, Service, Ticket, TicketStatus

DEFAULT_SERVICE_MINUTES = 5.0
RECENT_TICKETS_FOR_AVERAGE = 20


def checkin_get(*, checkin_id: uuid.UUID | str) -> CheckIn | None:
    return CheckIn.objects.select_related("ticket__service").filter(pk=checkin_id).first()


def ticket_position(*, ticket: Ticket) -> int | None:
    """1 for the next to be called; None once the ticket is no longer waiting."""
    if ticket.status != TicketStatus.WAITING:
        return None
    ahead = Ticket.objects.filter(
        service_id=ticket.service_id,
        service_day=ticket.service_day,
        status=TicketStatus.WAITING,
    ).filter(
        Q(priority_tier__lt=ticket.priority_tier)
        | Q(priority_tier=ticket.priority_tier, arrived_at__lt=ticket.arrived_at)
        | Q(priority_tier=ticket.priority_tier, arrived_at=ticket.arrived_at, id__lt=ticket.pk)
    )
    return ahead.count() + 1


def service_average_minutes(*, service: Service) -> float:
    """Average started → finished minutes of the service's last finished tickets."""
    recent = (
        Ticket.objects.filter(service=service, started_at__isnull=False, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("id", flat=True)[:RECENT_TICKETS_FOR_AVERAGE]
    )
    average = Ticket.objects.filter(id__in=list(recent)).aggregate(
        avg=Avg(F("finished_at") - F("started_at"))
    )["avg"]
    return average.total_seconds() / 60 if average else DEFAULT_SERVICE_MINUTES


def service_estimated_wait_minutes(*, service: Service, position: int) -> int:
    desks = Desk.objects.filter(is_active=True, services=service).count()
    return math.ceil(position * service_average_minutes(service=service) / max(desks, 1))
