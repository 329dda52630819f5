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
import functools

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from common.sql import advisory_xact_lock
from queueing.clock import clinic_timezone, service_day_today
from queueing.models import (
    PriorityPolicy,
    PriorityReason,
    PriorityTier,
    Service,
    Ticket,
    TicketEventKind,
    TicketStatus,
)
from queueing.services.live_figures import live_figures_changed
from queueing.services.ticket_sql import (
    desk_lock_for_calling,
    service_latest_calls,
    ticket_call_first_waiting,
    ticket_change,
    ticket_lock,
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


def _ticket_lock(*, ticket_id: int, action: str) -> Ticket:
    """The ticket, row-locked, after checking `action` is allowed from its current status."""
    ticket = ticket_lock(ticket_id=ticket_id)
    allowed, verb = TRANSITIONS[action]
    if ticket.status not in allowed:
        raise TicketActionRefused(
            code="invalid_transition",
            # The API's messages are English; the status is its code, not the localised label.
            detail=f"Ticket {ticket.display_code} is {ticket.status.replace('_', ' ')}; "
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


def _interleaved_services_lock(
    *, services: list[Service], service_day: datetime.date
) -> tuple[list[int], datetime.datetime | None]:
    """Lock the interleaved services; those due a normal call, and the time of their latest call.

    A service is due when its last N calls today were all priority calls. The count is read
    from the CALLED events, the record of calls, under the service's lock, so it cannot drift
    and two desks never both take the normal ticket's turn.
    """
    due = []
    latest_call_at = None
    for service in services:  # ordered by id: locks are always taken in the same order
        if service.priority_policy != PriorityPolicy.INTERLEAVE or not service.interleave_after:
            continue
        advisory_xact_lock(key=_INTERLEAVE_LOCK_KEY, scope=str(service.pk))
        n = service.interleave_after
        calls = service_latest_calls(
            service_id=service.pk, service_day=service_day, since=_day_start(service_day), limit=n
        )
        if calls and (latest_call_at is None or calls[0][1] > latest_call_at):
            latest_call_at = calls[0][1]
        if len(calls) == n and all(tier != PriorityTier.NORMAL for tier, _ in calls):
            due.append(service.pk)
    return due, latest_call_at


@transaction.atomic
def ticket_call_next(
    *, desk_id: int, actor: User | None = None, partner_client_id: str = ""
) -> Ticket | None:
    """Give the desk the next waiting ticket of its active services today; None when none waits.

    Order: priority tier, then arrival, then id, across the desk's services. An interleaved
    service whose last N calls were all priority calls is due a normal call: its oldest normal
    ticket comes first. A desk holds one ticket at a time: while it still holds a called or
    in-service ticket, calling next is refused (finish it, mark the no-show or requeue it).
    Concurrent desks never receive the same ticket (FOR UPDATE SKIP LOCKED). Raises
    Desk.DoesNotExist for an unknown desk.

    Hot path: the desk, its holding and its services are one statement; the pick, the call and
    its event are another (see ticket_sql).
    """
    today = service_day_today()
    desk, held_id, services = desk_lock_for_calling(
        desk_id=desk_id, today=today, held_statuses=HELD_STATUSES
    )
    if not desk.is_active:
        raise TicketActionRefused(
            code="desk_inactive", detail=f"Desk {desk.name} is not active; it cannot call."
        )
    if desk.on_break:
        raise TicketActionRefused(
            code="desk_on_break",
            detail=f"Desk {desk.name} is on a break ({desk.break_reason}); end the break "
            "to call the next ticket.",
        )
    if held_id is not None:
        held = Ticket.objects.get(pk=held_id)
        raise TicketActionRefused(
            code="desk_busy",
            detail=f"Desk {desk.name} still holds ticket {held.display_code} "
            f"({held.status.replace('_', ' ')}); finish it, mark it as a no-show or "
            "return it to the queue before calling the next one.",
            current_status=held.status,
            ticket=held,
        )
    if not services:
        return None
    due, latest_call_at = _interleaved_services_lock(
        services=list(services.values()), service_day=today
    )
    # The call is timed once the locks are held, and after the interleaved services' latest call
    # even when clocks disagree (web hosts, a clock set back): ordered by time, a service's
    # CALLED events are its calls in the order they were made, which the next count relies on.
    now = timezone.now()
    if latest_call_at is not None and now <= latest_call_at:
        now = latest_call_at + datetime.timedelta(microseconds=1)
    call = functools.partial(
        ticket_call_first_waiting,
        today=today,
        desk_id=desk.pk,
        now=now,
        actor_id=actor.pk if actor is not None else None,
        partner_client_id=partner_client_id,
    )
    ticket = None
    if due:
        ticket = call(service_ids=due, normal_only=True, interleave_turn=True)
    if ticket is None:
        ticket = call(service_ids=list(services), normal_only=False)
    if ticket is not None:
        live_figures_changed()
    return ticket


def _transition(
    *,
    ticket_id: int,
    action: str,
    kind: TicketEventKind,
    to_status: TicketStatus,
    actor: User | None,
    partner_client_id: str,
    cancel_reason: str = "",
) -> Ticket:
    """Check, change and record one ticket action in a single statement; the changed ticket.

    When the statement changes nothing, `_ticket_lock` says why (409 or DoesNotExist); if the
    ticket turns out to allow the action after all (it changed in between), it is locked now
    and the statement runs again.
    """
    (from_status,) = TRANSITIONS[action][0]
    change = functools.partial(
        ticket_change,
        ticket_id=ticket_id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        today=service_day_today() if action in TODAY_ONLY_ACTIONS else None,
        now=timezone.now(),
        actor_id=actor.pk if actor is not None else None,
        partner_client_id=partner_client_id,
        cancel_reason=cancel_reason,
    )
    for _ in range(2):
        ticket = change()
        if ticket is not None:
            live_figures_changed()
            return ticket
        _ticket_lock(ticket_id=ticket_id, action=action)  # raises unless allowed after all
    raise RuntimeError(f"Ticket {ticket_id}: {action} allowed but not applied.")


@transaction.atomic
def ticket_recall(
    *, ticket_id: int, actor: User | None = None, partner_client_id: str = ""
) -> Ticket:
    """Call the same ticket again (the panel shows it again); the count is kept."""
    return _transition(
        ticket_id=ticket_id,
        action="recall",
        kind=TicketEventKind.RECALLED,
        to_status=TicketStatus.CALLED,
        actor=actor,
        partner_client_id=partner_client_id,
    )


@transaction.atomic
def ticket_start(
    *, ticket_id: int, actor: User | None = None, partner_client_id: str = ""
) -> Ticket:
    """The patient arrived at the desk: service starts."""
    return _transition(
        ticket_id=ticket_id,
        action="start",
        kind=TicketEventKind.STARTED,
        to_status=TicketStatus.IN_SERVICE,
        actor=actor,
        partner_client_id=partner_client_id,
    )


@transaction.atomic
def ticket_finish(
    *, ticket_id: int, actor: User | None = None, partner_client_id: str = ""
) -> Ticket:
    """Service is over: the ticket is done and the desk is free."""
    return _transition(
        ticket_id=ticket_id,
        action="finish",
        kind=TicketEventKind.FINISHED,
        to_status=TicketStatus.DONE,
        actor=actor,
        partner_client_id=partner_client_id,
    )


@transaction.atomic
def ticket_no_show(
    *, ticket_id: int, actor: User | None = None, partner_client_id: str = ""
) -> Ticket:
    """The called patient did not come: the ticket closes and the desk is free."""
    return _transition(
        ticket_id=ticket_id,
        action="no_show",
        kind=TicketEventKind.NO_SHOW,
        to_status=TicketStatus.NO_SHOW,
        actor=actor,
        partner_client_id=partner_client_id,
    )


@transaction.atomic
def ticket_cancel(
    *, ticket_id: int, reason: str, actor: User | None = None, partner_client_id: str = ""
) -> Ticket:
    """A waiting patient leaves the queue (gave up, wrong service...): the reason is kept."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the ticket is cancelled."})
    if len(reason) > 200:
        raise ValidationError({"reason": "The reason is at most 200 characters."})
    return _transition(
        ticket_id=ticket_id,
        action="cancel",
        kind=TicketEventKind.CANCELLED,
        to_status=TicketStatus.CANCELLED,
        cancel_reason=reason,
        actor=actor,
        partner_client_id=partner_client_id,
    )


@transaction.atomic
def ticket_requeue(
    *, ticket_id: int, actor: User | None = None, partner_client_id: str = ""
) -> Ticket:
    """Return a called ticket to the queue; it keeps its arrival time, so it keeps its place."""
    return _transition(
        ticket_id=ticket_id,
        action="requeue",
        kind=TicketEventKind.RETURNED,
        to_status=TicketStatus.WAITING,
        actor=actor,
        partner_client_id=partner_client_id,
    )


@transaction.atomic
def ticket_transfer(
    *, ticket_id: int, service_id: int, actor: User | None = None, partner_client_id: str = ""
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
    declared = ticket.priority_reason if ticket.priority_reason in CARRIED_REASONS else ""
    new_ticket = ticket_issue(
        patient=ticket.patient,
        service=target,
        priority_reason=declared,
        arrived_at=ticket.arrived_at,
        rank_at=ticket.rank_at,
        actor=actor,
        partner_client_id=partner_client_id,
        transferred_from=ticket,
    )
    # The ticket is locked (above) in a status transfer allows: this cannot miss it.
    ticket_change(
        ticket_id=ticket.pk,
        kind=TicketEventKind.TRANSFERRED,
        from_status=ticket.status,
        to_status=TicketStatus.TRANSFERRED,
        today=None,
        now=timezone.now(),
        actor_id=actor.pk if actor is not None else None,
        partner_client_id=partner_client_id,
        detail={
            "to_ticket": new_ticket.pk,
            "to_code": new_ticket.display_code,
            "to_service": target.name,
        },
    )
    return new_ticket
