"""Issuing tickets: numbering per service and day, and the legal priority tier."""

import datetime

from django.utils import timezone

from accounts.models import User
from patients.models import Patient
from queueing.clock import service_day_of
from queueing.models import PriorityReason, PriorityTier, Service, Ticket
from queueing.services.live_figures import live_figures_changed
from queueing.services.ticket_sql import CheckInQueued, ticket_insert

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


def _issue(
    *,
    patient: Patient,
    service: Service,
    priority_reason: str,
    arrived_at: datetime.datetime | None,
    actor_id: int | None,
    partner_client_id: str,
    rank_at: datetime.datetime | None = None,
    transferred_from: Ticket | None = None,
    reuse_open: bool = False,
    checkin_queued: CheckInQueued | None = None,
) -> tuple[Ticket, bool]:
    now = timezone.now()
    service_day = service_day_of(now)
    tier, reason = priority_tier_for(
        birth_date=patient.birth_date, declared_reason=priority_reason, day=service_day
    )
    ticket, created = ticket_insert(
        service=service,
        patient_id=patient.pk,
        service_day=service_day,
        priority_tier=tier,
        priority_reason=reason,
        arrived_at=arrived_at or now,
        rank_at=rank_at,
        now=now,
        actor_id=actor_id,
        partner_client_id=partner_client_id,
        transferred_from=transferred_from,
        reuse_open=reuse_open,
        checkin_queued=checkin_queued,
    )
    ticket.service = service
    ticket.patient = patient
    if created:
        live_figures_changed()
    return ticket, created


def ticket_issue(
    *,
    patient: Patient,
    service: Service,
    priority_reason: str = "",
    arrived_at: datetime.datetime | None = None,
    rank_at: datetime.datetime | None = None,
    actor: User | None = None,
    partner_client_id: str = "",
    transferred_from: Ticket | None = None,
) -> Ticket:
    """A new waiting ticket with the next number of the service's day (no gaps, no repeats).

    It takes its place in the call order at `rank_at` (its arrival when None) after its tier.
    """
    ticket, _ = _issue(
        patient=patient,
        service=service,
        priority_reason=priority_reason,
        arrived_at=arrived_at,
        rank_at=rank_at,
        actor_id=actor.pk if actor is not None else None,
        partner_client_id=partner_client_id,
        transferred_from=transferred_from,
    )
    return ticket


def ticket_issue_unless_open(
    *,
    patient: Patient,
    service: Service,
    priority_reason: str = "",
    arrived_at: datetime.datetime | None = None,
    rank_at: datetime.datetime | None = None,
    actor_id: int | None = None,
    partner_client_id: str = "",
    checkin_queued: CheckInQueued | None = None,
) -> tuple[Ticket, bool]:
    """The patient's open ticket of the service today, else a new one: (ticket, issued).

    One statement. Call it holding the patient's row lock (`patient_lock_or_register`).
    With `checkin_queued`, that check-in is marked queued with the ticket in the same statement.
    """
    return _issue(
        patient=patient,
        service=service,
        priority_reason=priority_reason,
        arrived_at=arrived_at,
        rank_at=rank_at,
        actor_id=actor_id,
        partner_client_id=partner_client_id,
        reuse_open=True,
        checkin_queued=checkin_queued,
    )
