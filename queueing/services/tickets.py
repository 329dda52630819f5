"""Issuing tickets: numbering per service and day, and the legal priority tier."""

import datetime
import json

from django.db import connection
from django.utils import timezone

from common.rows import columns, from_row
from queueing.clock import service_day_of
from queueing.models import (
    OPEN_STATUSES,
    PriorityReason,
    PriorityTier,
    Service,
    Ticket,
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


def display_code(*, prefix: str, number: int) -> str:
    return f"{prefix}{number:03d}"


_TICKET_COLUMNS, _TICKET_NAMES = columns(Ticket)

# Numbering, the ticket and its ISSUED event in one statement. The counter row's upsert
# serialises concurrent issuers of a service's day: numbers have no gaps and no repeats.
# With `open_ticket`, a patient's open ticket of the same service and day is returned instead, and
# nothing is numbered (the caller holds the patient's row lock, so no concurrent visit of the
# same patient can slip between the check and the insert). `then` appends a data-modifying CTE
# that reads the ticket from `chosen`, so a caller's own write needs no further round trip while
# the counter row is locked.
_ISSUE_SQL = """
WITH {open_cte}
counter AS (
    INSERT INTO queueing_ticketcounter (service_id, service_day, last_number)
    SELECT %(service)s, %(day)s, 1 {unless_open}
    ON CONFLICT (service_id, service_day)
    DO UPDATE SET last_number = queueing_ticketcounter.last_number + 1
    RETURNING last_number
), issued AS (
    INSERT INTO queueing_ticket
        (service_id, service_day, number, display_code, patient_id, priority_tier,
         priority_reason, status, arrived_at, issued_at, recall_count, cancel_reason,
         transferred_from_id)
    SELECT %(service)s, %(day)s, last_number,
           %(prefix)s || lpad(last_number::text, greatest(3, length(last_number::text)), '0'),
           %(patient)s, %(tier)s, %(reason)s, %(waiting)s, %(arrived)s, %(now)s, 0, '',
           %(transferred_from)s
    FROM counter
    RETURNING {columns}
), event AS (
    INSERT INTO queueing_ticketevent
        (ticket_id, kind, at, from_status, to_status, actor_id, partner_client_id, desk_id,
         detail)
    SELECT id, %(issued)s, %(now)s, '', %(waiting)s, %(actor)s, %(partner)s, NULL,
           %(detail)s::jsonb
    FROM issued
), chosen AS (
    SELECT true AS created, {columns} FROM issued {union_open}
){then}
SELECT * FROM chosen
"""
_OPEN_CTE = """open_ticket AS (
    SELECT {columns} FROM queueing_ticket
    WHERE patient_id = %(patient)s AND service_id = %(service)s AND service_day = %(day)s
      AND status IN %(open_statuses)s
    ORDER BY id LIMIT 1
),"""


def _issue(
    *,
    patient,
    service: Service,
    priority_reason: str,
    arrived_at: datetime.datetime | None,
    actor_id: int | None,
    partner_client_id: str,
    transferred_from: Ticket | None,
    reuse_open: bool,
    then: str = "",
    then_params: dict | None = None,
) -> tuple[Ticket, bool]:
    now = timezone.now()
    service_day = service_day_of(now)
    tier, reason = priority_tier_for(
        birth_date=patient.birth_date, declared_reason=priority_reason, day=service_day
    )
    sql = _ISSUE_SQL.format(
        columns=_TICKET_COLUMNS,
        open_cte=_OPEN_CTE.format(columns=_TICKET_COLUMNS) if reuse_open else "",
        unless_open="WHERE NOT EXISTS (SELECT 1 FROM open_ticket)" if reuse_open else "",
        union_open=(
            f"UNION ALL SELECT false, {_TICKET_COLUMNS} FROM open_ticket" if reuse_open else ""
        ),
        then=f", {then}" if then else "",
    )
    params = {
        "service": service.pk,
        "day": service_day,
        "prefix": service.prefix,
        "patient": patient.pk,
        "tier": int(tier),
        "reason": str(reason),
        "waiting": str(TicketStatus.WAITING),
        "arrived": arrived_at or now,
        "now": now,
        "transferred_from": transferred_from.pk if transferred_from else None,
        "issued": str(TicketEventKind.ISSUED),
        "actor": actor_id,
        "partner": partner_client_id,
        "detail": json.dumps(
            {"transferred_from": transferred_from.display_code} if transferred_from else {}
        ),
        "open_statuses": tuple(str(status) for status in OPEN_STATUSES),
        **(then_params or {}),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created, *values = cursor.fetchone()
    ticket = from_row(Ticket, _TICKET_NAMES, values)
    ticket.service = service
    ticket.patient = patient
    return ticket, created


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
    ticket, _ = _issue(
        patient=patient,
        service=service,
        priority_reason=priority_reason,
        arrived_at=arrived_at,
        actor_id=actor.pk if actor is not None else None,
        partner_client_id=partner_client_id,
        transferred_from=transferred_from,
        reuse_open=False,
    )
    return ticket


def ticket_issue_unless_open(
    *,
    patient,
    service: Service,
    priority_reason: str = "",
    arrived_at: datetime.datetime | None = None,
    actor_id: int | None = None,
    partner_client_id: str = "",
    then: str = "",
    then_params: dict | None = None,
) -> tuple[Ticket, bool]:
    """The patient's open ticket of the service today, else a new one: (ticket, issued).

    One statement. Call it holding the patient's row lock (`patient_lock_or_register`).
    `then` is a data-modifying CTE (`name AS (UPDATE …)`) run in the same statement: it may read
    the ticket as `(SELECT id FROM chosen)`, the patient as `%(patient)s` and `then_params`.
    """
    return _issue(
        patient=patient,
        service=service,
        priority_reason=priority_reason,
        arrived_at=arrived_at,
        actor_id=actor_id,
        partner_client_id=partner_client_id,
        transferred_from=None,
        reuse_open=True,
        then=then,
        then_params=then_params,
    )
