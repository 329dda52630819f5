"""The queue at work: a desk calls the next ticket, and every later move of a ticket.

Each action locks its row (desk or ticket) for the length of one short transaction, checks the
ticket's status against the transitions below and writes a TicketEvent. Refusals raise
`TicketActionRefused` (the API answers 409 with the ticket's current status); bad input raises
Django's ValidationError naming the field (the API answers 400).

    waiting → called (call next) → in_service (start) → done (finish)
    called → called (recall) | no_show | waiting (requeue, keeps its arrival)
    waiting → cancelled (with a reason)
    waiting | called | in_service → transferred (a new ticket opens in the target service)
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from queueing.clock import clinic_timezone, service_day_today
from queueing.models import (
    Desk,
    PriorityPolicy,
    PriorityReason,
    PriorityTier,
    Service,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)
from queueing.services.tickets import DECLARED_PRIORITY_REASONS, ticket_issue

# With the schema's hash and the service id: serialises the calls of one interleaved service,
# so two desks never both take "the normal ticket's turn".
_INTERLEAVE_LOCK_KEY = 0x494C5643

HELD_STATUSES = (TicketStatus.CALLED, TicketStatus.IN_SERVICE)

# action: (statuses it may start from, how the refusal reads)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "call": (frozenset({TicketStatus.WAITING}), "called"),
    "recall": (frozenset({TicketStatus.CALLED}), "called again"),
    "start": (frozenset({TicketStatus.CALLED}), "started"),
    "finish": (frozenset({TicketStatus.IN_SERVICE}), "finished"),
    "no_show": (frozenset({TicketStatus.CALLED}), "marked as a no-show"),
    "cancel": (frozenset({TicketStatus.WAITING}), "cancelled"),
    "requeue": (frozenset({TicketStatus.CALLED}), "returned to the queue"),
    "transfer": (
        frozenset({TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.IN_SERVICE}),
        "transferred",
    ),
}
# Reasons declared at check-in travel with a transfer; age tiers are recomputed from the birth date.
CARRIED_REASONS = DECLARED_PRIORITY_REASONS | {PriorityReason.BLOOD_DONOR}
# Actions that put a ticket in front of someone again: only for today's tickets.
TODAY_ONLY_ACTIONS = frozenset({"call", "recall", "requeue", "transfer"})


class TicketActionRefused(Exception):
    """An action the ticket's or desk's current state does not allow (HTTP 409)."""

    def __init__(
        self,
        *,
        code: str,
        detail: str,
        current_status: str | None = None,
        ticket: Ticket | None = None,
    ):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.current_status = current_status
        self.ticket = ticket


def _event(
    *,
    ticket: Ticket,
    kind: str,
    at: datetime.datetime,
    from_status: str,
    actor=None,
    partner_client_id: str = "",
    desk: Desk | None = None,
    detail: dict | None = None,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        at=at,
        from_status=from_status,
        to_status=ticket.status,
        actor=actor,
        partner_client_id=partner_client_id,
        desk=desk,
        detail=detail or {},
    )


def _ticket_lock(*, ticket_id: int, action: str) -> Ticket:
    """The ticket, row-locked, after checking `action` is allowed from its current status."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("desk").get(pk=ticket_id)
    allowed, verb = TRANSITIONS[action]
    if ticket.status not in allowed:
        raise TicketActionRefused(
            code="invalid_transition",
            detail=f"Ticket {ticket.display_code} is {ticket.get_status_display().lower()}; "
            f"it cannot be {verb}.",
            current_status=ticket.status,
            ticket=ticket,
        )
    if action in TODAY_ONLY_ACTIONS and ticket.service_day != service_day_today():
        raise TicketActionRefused(
            code="earlier_service_day",
            detail=f"Ticket {ticket.display_code} belongs to the service day "
            f"{ticket.service_day.isoformat()}; only today's tickets can be {verb}.",
            current_status=ticket.status,
            ticket=ticket,
        )
    return ticket


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=clinic_timezone())


def _priority_calls_in_a_row(*, service: Service, service_day: datetime.date, limit: int) -> int:
    """How many of the service's latest calls today were priority calls, counting back (≤ limit).

    Read from the CALLED events, which are the record of calls, so the count cannot drift.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.priority_tier
            FROM queueing_ticketevent e
            JOIN queueing_ticket t ON t.id = e.ticket_id
            WHERE e.kind = %s AND e.at >= %s AND t.service_id = %s AND t.service_day = %s
            ORDER BY e.at DESC, e.id DESC
            LIMIT %s
            """,
            [TicketEventKind.CALLED, _day_start(service_day), service.pk, service_day, limit],
        )
        in_a_row = 0
        for (tier,) in cursor.fetchall():
            if tier == PriorityTier.NORMAL:
                break
            in_a_row += 1
    return in_a_row


def _services_due_a_normal_call(
    *, services: list[Service], service_day: datetime.date
) -> list[int]:
    """Ids of the interleaved services whose last N calls were all priority calls."""
    due = []
    for service in services:  # ordered by id: locks are always taken in the same order
        if service.priority_policy != PriorityPolicy.INTERLEAVE or not service.interleave_after:
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema() || ':' || %s))",
                [_INTERLEAVE_LOCK_KEY, str(service.pk)],
            )
        n = service.interleave_after
        if _priority_calls_in_a_row(service=service, service_day=service_day, limit=n) >= n:
            due.append(service.pk)
    return due


@transaction.atomic
def ticket_call_next(*, desk_id: int, actor=None, partner_client_id: str = "") -> Ticket | None:
    """Give the desk the next waiting ticket of its active services today; None when none waits.

    Order: priority tier, then arrival, then id, across the desk's services. An interleaved
    service whose last N calls were all priority calls is due a normal call: its oldest normal
    ticket comes first. A desk holds one ticket at a time: while it still holds a called or
    in-service ticket, calling next is refused (finish it, mark the no-show or requeue it).
    Concurrent desks never receive the same ticket (FOR UPDATE SKIP LOCKED). Raises
    Desk.DoesNotExist for an unknown desk.
    """
    today = service_day_today()
    held_ticket = Ticket.objects.filter(
        desk=OuterRef("pk"), service_day=today, status__in=HELD_STATUSES
    ).order_by("-called_at")
    # One statement: the desk row lock (one call at a time per desk) and what it holds.
    desk = (
        Desk.objects.select_for_update(of=("self",))
        .annotate(held_id=Subquery(held_ticket.values("pk")[:1]))
        .get(pk=desk_id)
    )
    if not desk.is_active:
        raise TicketActionRefused(
            code="desk_inactive", detail=f"Desk {desk.name} is not active; it cannot call."
        )
    if desk.held_id is not None:
        held = Ticket.objects.get(pk=desk.held_id)
        raise TicketActionRefused(
            code="desk_busy",
            detail=f"Desk {desk.name} still holds ticket {held.display_code} "
            f"({held.get_status_display().lower()}); finish it, mark it as a no-show or "
            "return it to the queue before calling the next one.",
            current_status=held.status,
            ticket=held,
        )
    services = {s.pk: s for s in desk.services.filter(is_active=True).order_by("id")}
    if not services:
        return None
    waiting = (
        Ticket.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("patient")
        .filter(service_day=today, status=TicketStatus.WAITING)
    )
    ticket = None
    interleave_turn = False
    due = _services_due_a_normal_call(services=list(services.values()), service_day=today)
    if due:
        ticket = (
            waiting.filter(service_id__in=due, priority_tier=PriorityTier.NORMAL)
            .order_by("arrived_at", "id")
            .first()
        )
        interleave_turn = ticket is not None
    if ticket is None:
        ticket = (
            waiting.filter(service_id__in=list(services))
            .order_by("priority_tier", "arrived_at", "id")
            .first()
        )
    if ticket is None:
        return None

    now = timezone.now()
    ticket.service = services[ticket.service_id]
    ticket.status = TicketStatus.CALLED
    # called_at is the first call: the patient's wait (issued → called) ends there.
    ticket.called_at = ticket.called_at or now
    ticket.desk = desk
    ticket.called_by = actor
    ticket.save(update_fields=["status", "called_at", "desk", "called_by"])
    _event(
        ticket=ticket,
        kind=TicketEventKind.CALLED,
        at=now,
        from_status=TicketStatus.WAITING,
        actor=actor,
        partner_client_id=partner_client_id,
        desk=desk,
        detail={"interleave_turn": True} if interleave_turn else None,
    )
    return ticket


@transaction.atomic
def ticket_recall(*, ticket_id: int, actor=None, partner_client_id: str = "") -> Ticket:
    """Call the same ticket again (the panel shows it again); the count is kept."""
    ticket = _ticket_lock(ticket_id=ticket_id, action="recall")
    ticket.recall_count += 1
    ticket.save(update_fields=["recall_count"])
    _event(
        ticket=ticket,
        kind=TicketEventKind.RECALLED,
        at=timezone.now(),
        from_status=ticket.status,
        actor=actor,
        partner_client_id=partner_client_id,
        desk=ticket.desk,
        detail={"recall_count": ticket.recall_count},
    )
    return ticket


@transaction.atomic
def ticket_start(*, ticket_id: int, actor=None, partner_client_id: str = "") -> Ticket:
    """The patient arrived at the desk: service starts."""
    ticket = _ticket_lock(ticket_id=ticket_id, action="start")
    now = timezone.now()
    ticket.status = TicketStatus.IN_SERVICE
    ticket.started_at = now
    ticket.save(update_fields=["status", "started_at"])
    _event(
        ticket=ticket,
        kind=TicketEventKind.STARTED,
        at=now,
        from_status=TicketStatus.CALLED,
        actor=actor,
        partner_client_id=partner_client_id,
        desk=ticket.desk,
    )
    return ticket


@transaction.atomic
def ticket_finish(*, ticket_id: int, actor=None, partner_client_id: str = "") -> Ticket:
    """Service is over: the ticket is done and the desk is free."""
    ticket = _ticket_lock(ticket_id=ticket_id, action="finish")
    now = timezone.now()
    ticket.status = TicketStatus.DONE
    ticket.finished_at = now
    ticket.save(update_fields=["status", "finished_at"])
    _event(
        ticket=ticket,
        kind=TicketEventKind.FINISHED,
        at=now,
        from_status=TicketStatus.IN_SERVICE,
        actor=actor,
        partner_client_id=partner_client_id,
        desk=ticket.desk,
    )
    return ticket


@transaction.atomic
def ticket_no_show(*, ticket_id: int, actor=None, partner_client_id: str = "") -> Ticket:
    """The called patient did not come: the ticket closes and the desk is free."""
    ticket = _ticket_lock(ticket_id=ticket_id, action="no_show")
    ticket.status = TicketStatus.NO_SHOW
    ticket.save(update_fields=["status"])
    _event(
        ticket=ticket,
        kind=TicketEventKind.NO_SHOW,
        at=timezone.now(),
        from_status=TicketStatus.CALLED,
        actor=actor,
        partner_client_id=partner_client_id,
        desk=ticket.desk,
    )
    return ticket


@transaction.atomic
def ticket_cancel(
    *, ticket_id: int, reason: str, actor=None, partner_client_id: str = ""
) -> Ticket:
    """A waiting patient leaves the queue (gave up, wrong service...): the reason is kept."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the ticket is cancelled."})
    if len(reason) > 200:
        raise ValidationError({"reason": "The reason is at most 200 characters."})
    ticket = _ticket_lock(ticket_id=ticket_id, action="cancel")
    ticket.status = TicketStatus.CANCELLED
    ticket.cancel_reason = reason
    ticket.save(update_fields=["status", "cancel_reason"])
    _event(
        ticket=ticket,
        kind=TicketEventKind.CANCELLED,
        at=timezone.now(),
        from_status=TicketStatus.WAITING,
        actor=actor,
        partner_client_id=partner_client_id,
        detail={"reason": reason},
    )
    return ticket


@transaction.atomic
def ticket_requeue(*, ticket_id: int, actor=None, partner_client_id: str = "") -> Ticket:
    """Return a called ticket to the queue; it keeps its arrival time, so it keeps its place."""
    ticket = _ticket_lock(ticket_id=ticket_id, action="requeue")
    desk = ticket.desk
    ticket.status = TicketStatus.WAITING
    ticket.desk = None
    ticket.save(update_fields=["status", "desk"])
    _event(
        ticket=ticket,
        kind=TicketEventKind.RETURNED,
        at=timezone.now(),
        from_status=TicketStatus.CALLED,
        actor=actor,
        partner_client_id=partner_client_id,
        desk=desk,
    )
    return ticket


@transaction.atomic
def ticket_transfer(
    *, ticket_id: int, service_id: int, actor=None, partner_client_id: str = ""
) -> Ticket:
    """Close the ticket as transferred and open one in `service_id` with the same arrival time.

    The new ticket gets the target service's next number, the patient's legal tier (declared
    reasons carry over; age tiers are recomputed) and a link back to the closed ticket.
    """
    target = Service.objects.filter(pk=service_id).first()
    if target is None:
        raise ValidationError({"service": f"There is no service with id {service_id}."})
    if not target.is_active:
        raise ValidationError({"service": f"Service {target.name} is not active."})
    ticket = _ticket_lock(ticket_id=ticket_id, action="transfer")
    if ticket.service_id == target.pk:
        raise ValidationError(
            {"service": f"Ticket {ticket.display_code} is already in {target.name}."}
        )
    now = timezone.now()
    from_status = ticket.status
    desk = ticket.desk
    ticket.status = TicketStatus.TRANSFERRED
    ticket.finished_at = now
    ticket.save(update_fields=["status", "finished_at"])
    declared = ticket.priority_reason if ticket.priority_reason in CARRIED_REASONS else ""
    new_ticket = ticket_issue(
        patient=ticket.patient,
        service=target,
        priority_reason=declared,
        arrived_at=ticket.arrived_at,
        actor=actor,
        partner_client_id=partner_client_id,
        transferred_from=ticket,
    )
    _event(
        ticket=ticket,
        kind=TicketEventKind.TRANSFERRED,
        at=now,
        from_status=from_status,
        actor=actor,
        partner_client_id=partner_client_id,
        desk=desk,
        detail={
            "to_ticket": new_ticket.pk,
            "to_code": new_ticket.display_code,
            "to_service": target.name,
        },
    )
    return new_ticket
