"""Issuing tickets: numbering per service and day, and the legal priority tier."""

import datetime

from django.db import connection, transaction
from django.utils import timezone

from queueing.clock import service_day_of
from queueing.models import (
    PriorityReason,
    PriorityTier,
    Service,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)

# Declared reasons of Lei 10.048/2000 (as amended by Lei 14.626/2023); age tiers are computed.
DECLARED_PRIORITY_REASONS = frozenset(
    {
        PriorityReason.PREGNANT,
        PriorityReason.BREASTFEEDING,
        PriorityReason.INFANT_IN_ARMS,
        PriorityReason.DISABILITY,
        PriorityReason.AUTISM,
        PriorityReason.OBESITY,
        PriorityReason.REDUCED_MOBILITY,
    }
)


def age_on(*, birth_date: datetime.date, day: datetime.date) -> int:
    """Completed years on `day` (someone born on 29 February turns a year older on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def priority_tier_for(
    *, birth_date: datetime.date | None, declared_reason: str, day: datetime.date
) -> tuple[int, str]:
    """Tier and reason by law: 80+ super-priority; 60+ or a declared reason priority; donors."""
    age = age_on(birth_date=birth_date, day=day) if birth_date else None
    if age is not None and age >= 80:
        return PriorityTier.SUPER_PRIORITY, PriorityReason.AGE_80
    if age is not None and age >= 60:
        return PriorityTier.PRIORITY, PriorityReason.AGE_60
    if declared_reason in DECLARED_PRIORITY_REASONS:
        return PriorityTier.PRIORITY, declared_reason
    if declared_reason == PriorityReason.BLOOD_DONOR:
        return PriorityTier.BLOOD_DONOR, declared_reason
    return PriorityTier.NORMAL, ""


def _next_number(*, service: Service, service_day: datetime.date) -> int:
    """Bump the day's counter in one statement; the row lock serialises concurrent issuers."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO queueing_ticketcounter (service_id, service_day, last_number)
            VALUES (%s, %s, 1)
            ON CONFLICT (service_id, service_day)
            DO UPDATE SET last_number = queueing_ticketcounter.last_number + 1
            RETURNING last_number
            """,
            [service.pk, service_day],
        )
        return cursor.fetchone()[0]


def display_code(*, prefix: str, number: int) -> str:
    return f"{prefix}{number:03d}"


@transaction.atomic
def ticket_issue(
    *,
    patient,
    service: Service,
    priority_reason: str = "",
    arrived_at: datetime.datetime | None = None,
    actor=None,
    partner_client_id: str = "",
    transferred_from: Ticket | None = None,
) -> Ticket:
    """A new waiting ticket with the next number of the service's day (no gaps, no repeats)."""
    now = timezone.now()
    service_day = service_day_of(now)
    tier, reason = priority_tier_for(
        birth_date=patient.birth_date, declared_reason=priority_reason, day=service_day
    )
    number = _next_number(service=service, service_day=service_day)
    ticket = Ticket.objects.create(
        service=service,
        service_day=service_day,
        number=number,
        display_code=display_code(prefix=service.prefix, number=number),
        patient=patient,
        priority_tier=tier,
        priority_reason=reason,
        status=TicketStatus.WAITING,
        arrived_at=arrived_at or now,
        issued_at=now,
        transferred_from=transferred_from,
    )
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.ISSUED,
        at=now,
        from_status="",
        to_status=TicketStatus.WAITING,
        actor=actor,
        partner_client_id=partner_client_id,
        detail={"transferred_from": transferred_from.display_code} if transferred_from else {},
    )
    return ticket
