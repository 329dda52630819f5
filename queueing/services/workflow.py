"""The queue at work: a desk calls the next ticket, and every later move of a ticket.

Each action locks its row (desk or ticket) for the length of one short transaction, checks the
ticket's status against the transitions below and writes a TicketEvent. Refusals raise
`TicketActionRefused` (the API answers 409 with the ticket's current status); bad input raises
Django's ValidationError naming the field (the API answers 400).

    waiting → called (call next) → in_service (start) → done (finish)
    called → called (recall) | no_show | waiting (requeue, keeps its arrival)
    waiting → cancelled (with a reason)
    waiting | called | in_service → transferred (a new ticket opens in the target service)
    waiting → called (a desk calls a chosen ticket out of order, with a reason)
    no_show → called, cancelled → waiting (undone by the same person within `UNDO_WINDOW`)

Messages are translated (the clinic's language, or the request's `Accept-Language`).
"""

import datetime
import functools

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from common.sql import advisory_xact_lock
from queueing.clock import clinic_timezone, service_day_today
from queueing.models import (
    BreakReason,
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
from queueing.services.live_figures import live_figures_changed
from queueing.services.ticket_sql import (
    desk_lock_for_calling,
    service_latest_calls,
    ticket_call_chosen_waiting,
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
TRANSITIONS: dict[str, tuple[frozenset[str], str | Promise]] = {
    "call": (
        frozenset({TicketStatus.WAITING}),
        gettext_lazy("Ticket %(code)s is “%(status)s”; it cannot be called."),
    ),
    "recall": (
        frozenset({TicketStatus.CALLED}),
        gettext_lazy("Ticket %(code)s is “%(status)s”; it cannot be called again."),
    ),
    "start": (
        frozenset({TicketStatus.CALLED}),
        gettext_lazy("Ticket %(code)s is “%(status)s”; it cannot be started."),
    ),
    "finish": (
        frozenset({TicketStatus.IN_SERVICE}),
        gettext_lazy("Ticket %(code)s is “%(status)s”; it cannot be finished."),
    ),
    "no_show": (
        frozenset({TicketStatus.CALLED}),
        gettext_lazy("Ticket %(code)s is “%(status)s”; it cannot be marked as a no-show."),
    ),
    "cancel": (
        frozenset({TicketStatus.WAITING}),
        gettext_lazy("Ticket %(code)s is “%(status)s”; it cannot be cancelled."),
    ),
    "requeue": (
        frozenset({TicketStatus.CALLED}),
        gettext_lazy("Ticket %(code)s is “%(status)s”; it cannot be returned to the queue."),
    ),
    "transfer": (
        frozenset({TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.IN_SERVICE}),
        gettext_lazy("Ticket %(code)s is “%(status)s”; it cannot be transferred."),
    ),
    "no_show_undo": (
        frozenset({TicketStatus.NO_SHOW}),
        gettext_lazy("Ticket %(code)s is “%(status)s”; there is no no-show to undo."),
    ),
    "cancel_undo": (
        frozenset({TicketStatus.CANCELLED}),
        gettext_lazy("Ticket %(code)s is “%(status)s”; there is no cancellation to undo."),
    ),
}
# How long after a no-show or a cancellation the same person may undo it (the console offers
# "Undo" for 8 s; the rest is the network's margin).
UNDO_WINDOW = datetime.timedelta(seconds=15)
REASON_MAX_LENGTH = 200
# Reasons declared at check-in travel with a transfer; age tiers are recomputed from the birth date.
CARRIED_REASONS = DECLARED_PRIORITY_REASONS | {PriorityReason.BLOOD_DONOR}
# Actions that put a ticket in front of someone again: only for today's tickets.
TODAY_ONLY_ACTIONS = frozenset(
    {"call", "recall", "requeue", "transfer", "no_show_undo", "cancel_undo"}
)


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
    allowed, refusal = TRANSITIONS[action]
    if ticket.status not in allowed:
        raise TicketActionRefused(
            code="invalid_transition",
            detail=str(refusal)
            % {"code": ticket.display_code, "status": _status_label(ticket.status)},
            current_status=ticket.status,
            ticket=ticket,
        )
    if action in TODAY_ONLY_ACTIONS and ticket.service_day != service_day_today():
        raise TicketActionRefused(
            code="earlier_service_day",
            detail=_(
                "Ticket %(code)s belongs to the service day %(day)s; only today's tickets can "
                "be changed this way."
            )
            % {"code": ticket.display_code, "day": ticket.service_day.isoformat()},
            current_status=ticket.status,
            ticket=ticket,
        )
    return ticket


def _status_label(status: str) -> str:
    return str(TicketStatus(status).label)


def _reason_clean(reason: str, *, missing: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": missing})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": _("The reason is at most %(max)s characters.") % {"max": REASON_MAX_LENGTH}}
        )
    return reason


def _desk_check_free(*, desk: Desk, held_id: int | None) -> None:
    """Refuse (409) unless the desk is active, open and holds no ticket."""
    if not desk.is_active:
        raise TicketActionRefused(
            code="desk_inactive",
            detail=_("Desk %(desk)s is not active; it cannot call.") % {"desk": desk.name},
        )
    if desk.on_break:
        raise TicketActionRefused(
            code="desk_on_break",
            detail=_("Desk %(desk)s is on a break (%(reason)s); end the break to call a ticket.")
            % {"desk": desk.name, "reason": _break_label(desk.break_reason)},
        )
    if held_id is not None:
        held = Ticket.objects.get(pk=held_id)
        raise TicketActionRefused(
            code="desk_busy",
            detail=_(
                "Desk %(desk)s still holds ticket %(code)s (%(status)s); finish it, mark it as "
                "a no-show or return it to the queue before calling another one."
            )
            % {"desk": desk.name, "code": held.display_code, "status": _status_label(held.status)},
            current_status=held.status,
            ticket=held,
        )


def _break_label(reason: str) -> str:
    return str(BreakReason(reason).label) if reason in BreakReason.values else reason


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
    _desk_check_free(desk=desk, held_id=held_id)
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
    for _attempt in range(2):
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
    reason = _reason_clean(reason, missing=_("Say why the ticket is cancelled."))
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
        raise ValidationError(
            {"service": _("There is no service with id %(id)s.") % {"id": service_id}}
        )
    if not target.is_active:
        raise ValidationError(
            {"service": _("Service %(service)s is not active.") % {"service": target.name}}
        )
    ticket = _ticket_lock(ticket_id=ticket_id, action="transfer")
    if ticket.service_id == target.pk:
        raise ValidationError(
            {
                "service": _("Ticket %(code)s is already in %(service)s.")
                % {"code": ticket.display_code, "service": target.name}
            }
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


@transaction.atomic
def ticket_call_chosen(
    *,
    desk_id: int,
    ticket_id: int,
    reason: str,
    actor: User | None = None,
    partner_client_id: str = "",
) -> Ticket:
    """Give the desk a chosen waiting ticket out of order, with the reason; a call like any other.

    The desk must be active, open, free and serve the ticket's service; the ticket waiting and
    of today. The desk's row and then the ticket's are locked, as call-next locks them: two desks
    never both get the ticket (the second finds it called and is refused with 409). The CALLED
    event records `out_of_order` and the reason. Raises Desk.DoesNotExist, Ticket.DoesNotExist,
    ValidationError on `reason`, TicketActionRefused (409).
    """
    reason = _reason_clean(reason, missing=_("Say why this ticket is called out of order."))
    today = service_day_today()
    desk, held_id, services = desk_lock_for_calling(
        desk_id=desk_id, today=today, held_statuses=HELD_STATUSES
    )
    _desk_check_free(desk=desk, held_id=held_id)
    ticket = _ticket_lock(ticket_id=ticket_id, action="call")
    service = services.get(ticket.service_id)
    if service is None:
        raise TicketActionRefused(
            code="service_not_served",
            detail=_("Desk %(desk)s does not call tickets of %(service)s.")
            % {"desk": desk.name, "service": ticket.service.name},
            current_status=ticket.status,
            ticket=ticket,
        )
    # An interleaved service counts its calls under its lock, in the order they were made.
    _due, latest_call_at = _interleaved_services_lock(services=[service], service_day=today)
    now = timezone.now()
    if latest_call_at is not None and now <= latest_call_at:
        now = latest_call_at + datetime.timedelta(microseconds=1)
    called = ticket_call_chosen_waiting(
        ticket_id=ticket.pk,
        today=today,
        desk_id=desk.pk,
        now=now,
        actor_id=actor.pk if actor is not None else None,
        partner_client_id=partner_client_id,
        detail={"out_of_order": True, "reason": reason},
    )
    if called is None:  # locked above as waiting: cannot happen
        raise RuntimeError(f"Ticket {ticket_id}: chosen call allowed but not applied.")
    live_figures_changed()
    return called


def _undo_check(
    *, ticket: Ticket, kind: TicketEventKind, actor: User | None, partner_client_id: str
) -> TicketEvent:
    """The event to undo: the ticket's latest, of `kind`, within the window, by the same person."""
    latest = TicketEvent.objects.filter(ticket_id=ticket.pk).order_by("-at", "-id").first()
    if latest is None or latest.kind != kind or latest.at < timezone.now() - UNDO_WINDOW:
        raise TicketActionRefused(
            code="undo_expired",
            detail=_("Ticket %(code)s can no longer be restored: the time to undo is over.")
            % {"code": ticket.display_code},
            current_status=ticket.status,
            ticket=ticket,
        )
    same = (
        latest.actor_id == actor.pk
        if actor is not None
        else bool(partner_client_id) and latest.partner_client_id == partner_client_id
    )
    if not same:
        raise TicketActionRefused(
            code="undo_not_yours",
            detail=_("Only whoever changed ticket %(code)s may undo it.")
            % {"code": ticket.display_code},
            current_status=ticket.status,
            ticket=ticket,
        )
    return latest


def _restore(
    *,
    ticket_id: int,
    action: str,
    undone: TicketEventKind,
    to_status: TicketStatus,
    actor: User | None,
    partner_client_id: str,
) -> Ticket:
    ticket = _ticket_lock(ticket_id=ticket_id, action=action)
    event = _undo_check(
        ticket=ticket, kind=undone, actor=actor, partner_client_id=partner_client_id
    )
    if to_status == TicketStatus.CALLED and ticket.desk_id is not None:
        # Back at its desk, as it was: the desk must still be free and open.
        desk, held_id, _services = desk_lock_for_calling(
            desk_id=ticket.desk_id, today=ticket.service_day, held_statuses=HELD_STATUSES
        )
        _desk_check_free(desk=desk, held_id=held_id)
    restored = ticket_change(
        ticket_id=ticket.pk,
        kind=TicketEventKind.RESTORED,
        from_status=ticket.status,
        to_status=to_status,
        today=service_day_today(),
        now=timezone.now(),
        actor_id=actor.pk if actor is not None else None,
        partner_client_id=partner_client_id,
        detail={"undone": str(undone), "undone_event": event.pk},
    )
    if restored is None:  # locked above in the status undo starts from: cannot happen
        raise RuntimeError(f"Ticket {ticket_id}: {action} allowed but not applied.")
    live_figures_changed()
    return restored


@transaction.atomic
def ticket_no_show_undo(
    *, ticket_id: int, actor: User | None = None, partner_client_id: str = ""
) -> Ticket:
    """Undo a no-show: the ticket is called at its desk again, as it was (same call time).

    Only within `UNDO_WINDOW` of the no-show, by whoever marked it, while the desk is still free
    and open; recorded as a RESTORED event. Raises Ticket.DoesNotExist, TicketActionRefused.
    """
    return _restore(
        ticket_id=ticket_id,
        action="no_show_undo",
        undone=TicketEventKind.NO_SHOW,
        to_status=TicketStatus.CALLED,
        actor=actor,
        partner_client_id=partner_client_id,
    )


@transaction.atomic
def ticket_cancel_undo(
    *, ticket_id: int, actor: User | None = None, partner_client_id: str = ""
) -> Ticket:
    """Undo a cancellation: the ticket waits again in its place (its arrival is kept).

    Only within `UNDO_WINDOW` of the cancellation, by whoever cancelled it; recorded as a
    RESTORED event. Raises Ticket.DoesNotExist, TicketActionRefused.
    """
    return _restore(
        ticket_id=ticket_id,
        action="cancel_undo",
        undone=TicketEventKind.CANCELLED,
        to_status=TicketStatus.WAITING,
        actor=actor,
        partner_client_id=partner_client_id,
    )
