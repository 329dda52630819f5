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
import json

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from common.rows import from_row
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
from queueing.services.ticket_rows import (
    ticket_from_row,
    ticket_lock,
    ticket_select_sql,
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


_DESK_SQL = f"""
SELECT d.id, d.name, d.is_active,
       (SELECT t.id FROM {Ticket._meta.db_table} t
        WHERE t.desk_id = d.id AND t.service_day = %s AND t.status IN %s
        ORDER BY t.called_at DESC LIMIT 1),
       (SELECT json_agg(json_build_array(s.id, s.name, s.prefix, s.priority_policy,
                                         s.interleave_after) ORDER BY s.id)
        FROM {Desk.services.through._meta.db_table} ds
        JOIN {Service._meta.db_table} s ON s.id = ds.service_id
        WHERE ds.desk_id = d.id AND s.is_active)
FROM {Desk._meta.db_table} d WHERE d.id = %s FOR UPDATE OF d
"""
_SERVICE_FIELDS = ("id", "name", "prefix", "priority_policy", "interleave_after")


def _desk_lock(*, desk_id: int, today: datetime.date) -> tuple[Desk, int | None, dict]:
    """The desk, row-locked (one call at a time per desk), the ticket it holds and its services.

    One statement. The services are the desk's active ones by id, with the fields calling needs.
    """
    with connection.cursor() as cursor:
        cursor.execute(_DESK_SQL, [today, tuple(HELD_STATUSES), desk_id])
        row = cursor.fetchone()
    if row is None:
        raise Desk.DoesNotExist(f"No desk {desk_id}.")
    desk = from_row(Desk, ("id", "name", "is_active"), row[:3])
    services = {values[0]: from_row(Service, _SERVICE_FIELDS, values) for values in row[4] or ()}
    return desk, row[3], services


# `services IN %(services)s` with one service is `service_id = …`: the pick then walks the
# partial index ticket_waiting_call_order in call order.
_CALL_SQL = """
WITH picked AS (
    SELECT id FROM queueing_ticket
    WHERE service_day = %(today)s AND status = %(waiting)s AND service_id IN %(services)s
          {normal_only}
    ORDER BY {order} LIMIT 1
    FOR UPDATE SKIP LOCKED
), called AS (
    UPDATE queueing_ticket t
    SET status = %(called)s, called_at = COALESCE(t.called_at, %(now)s), desk_id = %(desk)s,
        called_by_id = %(actor)s
    FROM picked WHERE t.id = picked.id
    RETURNING t.*
), event AS (
    INSERT INTO queueing_ticketevent
        (ticket_id, kind, at, from_status, to_status, actor_id, partner_client_id, desk_id,
         detail)
    SELECT id, %(kind)s, %(now)s, %(waiting)s, status, %(actor)s, %(partner)s, %(desk)s,
           %(detail)s::jsonb
    FROM called
)
{select}
"""


def _call_first_waiting(
    *,
    today: datetime.date,
    service_ids: list[int],
    normal_only: bool,
    desk: Desk,
    now: datetime.datetime,
    actor,
    partner_client_id: str,
    detail: dict | None,
) -> Ticket | None:
    """Pick, call and record the first waiting ticket in call order, in one statement.

    The pick skips rows other desks hold locked (FOR UPDATE SKIP LOCKED), so two desks never get
    the same ticket; it walks the partial index ticket_waiting_call_order.
    """
    sql = _CALL_SQL.format(
        normal_only=f"AND priority_tier = {int(PriorityTier.NORMAL)}" if normal_only else "",
        order="arrived_at, id" if normal_only else "priority_tier, arrived_at, id",
        select=ticket_select_sql(source="called"),
    )
    params = {
        "today": today,
        "waiting": str(TicketStatus.WAITING),
        "called": str(TicketStatus.CALLED),
        "services": tuple(service_ids),
        "now": now,
        "desk": desk.pk,
        "actor": actor.pk if actor is not None else None,
        "partner": partner_client_id,
        "kind": str(TicketEventKind.CALLED),
        "detail": json.dumps(detail or {}),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return ticket_from_row(row) if row is not None else None


@transaction.atomic
def ticket_call_next(*, desk_id: int, actor=None, partner_client_id: str = "") -> Ticket | None:
    """Give the desk the next waiting ticket of its active services today; None when none waits.

    Order: priority tier, then arrival, then id, across the desk's services. An interleaved
    service whose last N calls were all priority calls is due a normal call: its oldest normal
    ticket comes first. A desk holds one ticket at a time: while it still holds a called or
    in-service ticket, calling next is refused (finish it, mark the no-show or requeue it).
    Concurrent desks never receive the same ticket (FOR UPDATE SKIP LOCKED). Raises
    Desk.DoesNotExist for an unknown desk.

    Hot path: the desk, its holding and its services are one statement; the pick, the call and
    its event are another (see ticket_rows).
    """
    today = service_day_today()
    desk, held_id, services = _desk_lock(desk_id=desk_id, today=today)
    if not desk.is_active:
        raise TicketActionRefused(
            code="desk_inactive", detail=f"Desk {desk.name} is not active; it cannot call."
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
    call = {
        "today": today,
        "desk": desk,
        "now": timezone.now(),
        "actor": actor,
        "partner_client_id": partner_client_id,
    }
    due = _services_due_a_normal_call(services=list(services.values()), service_day=today)
    ticket = None
    if due:
        ticket = _call_first_waiting(
            service_ids=due, normal_only=True, detail={"interleave_turn": True}, **call
        )
    if ticket is None:
        ticket = _call_first_waiting(
            service_ids=list(services), normal_only=False, detail=None, **call
        )
    return ticket


_TRANSITION_SQL = """
WITH locked AS (
    SELECT id, desk_id FROM queueing_ticket
    WHERE id = %(ticket)s AND status = %(from_status)s {today_only}
    FOR UPDATE
), changed AS (
    UPDATE queueing_ticket t SET {sets} FROM locked WHERE t.id = locked.id
    RETURNING t.*, locked.desk_id AS previous_desk_id
), event AS (
    INSERT INTO queueing_ticketevent
        (ticket_id, kind, at, from_status, to_status, actor_id, partner_client_id, desk_id,
         detail)
    SELECT id, %(kind)s, %(now)s, %(from_status)s, status, %(actor)s, %(partner)s,
           {event_desk}, {detail}
    FROM changed
)
{select}
"""


def _transition(
    *,
    ticket_id: int,
    action: str,
    kind: str,
    sets: str,
    actor,
    partner_client_id: str,
    event_at_desk: bool = True,
    detail: str = "'{}'::jsonb",
    params: dict | None = None,
) -> Ticket:
    """Check, change and record one ticket action in a single statement; the changed ticket.

    `sets` is the UPDATE's SET list (it may use `%(now)s` and `params`), `detail` the event's
    detail as SQL over the changed row. When the statement changes nothing, `_ticket_lock` says
    why (409 or DoesNotExist); if the ticket turns out to allow the action after all (it
    changed in between), it is locked now and the statement runs again.
    """
    (from_status,) = TRANSITIONS[action][0]
    sql = _TRANSITION_SQL.format(
        today_only="AND service_day = %(today)s" if action in TODAY_ONLY_ACTIONS else "",
        sets=sets,
        event_desk="previous_desk_id" if event_at_desk else "NULL",
        detail=detail,
        select=ticket_select_sql(source="changed"),
    )
    values = {
        "ticket": ticket_id,
        "from_status": str(from_status),
        "today": service_day_today(),
        "kind": str(kind),
        "now": timezone.now(),
        "actor": actor.pk if actor is not None else None,
        "partner": partner_client_id,
        **(params or {}),
    }
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            row = cursor.fetchone()
        if row is not None:
            return ticket_from_row(row)
        _ticket_lock(ticket_id=ticket_id, action=action)  # raises unless allowed after all
    raise RuntimeError(f"Ticket {ticket_id}: {action} allowed but not applied.")


@transaction.atomic
def ticket_recall(*, ticket_id: int, actor=None, partner_client_id: str = "") -> Ticket:
    """Call the same ticket again (the panel shows it again); the count is kept."""
    return _transition(
        ticket_id=ticket_id,
        action="recall",
        kind=TicketEventKind.RECALLED,
        sets="recall_count = t.recall_count + 1",
        detail="jsonb_build_object('recall_count', recall_count)",
        actor=actor,
        partner_client_id=partner_client_id,
    )


@transaction.atomic
def ticket_start(*, ticket_id: int, actor=None, partner_client_id: str = "") -> Ticket:
    """The patient arrived at the desk: service starts."""
    return _transition(
        ticket_id=ticket_id,
        action="start",
        kind=TicketEventKind.STARTED,
        sets="status = %(to_status)s, started_at = %(now)s",
        params={"to_status": str(TicketStatus.IN_SERVICE)},
        actor=actor,
        partner_client_id=partner_client_id,
    )


@transaction.atomic
def ticket_finish(*, ticket_id: int, actor=None, partner_client_id: str = "") -> Ticket:
    """Service is over: the ticket is done and the desk is free."""
    return _transition(
        ticket_id=ticket_id,
        action="finish",
        kind=TicketEventKind.FINISHED,
        sets="status = %(to_status)s, finished_at = %(now)s",
        params={"to_status": str(TicketStatus.DONE)},
        actor=actor,
        partner_client_id=partner_client_id,
    )


@transaction.atomic
def ticket_no_show(*, ticket_id: int, actor=None, partner_client_id: str = "") -> Ticket:
    """The called patient did not come: the ticket closes and the desk is free."""
    return _transition(
        ticket_id=ticket_id,
        action="no_show",
        kind=TicketEventKind.NO_SHOW,
        sets="status = %(to_status)s",
        params={"to_status": str(TicketStatus.NO_SHOW)},
        actor=actor,
        partner_client_id=partner_client_id,
    )


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
    return _transition(
        ticket_id=ticket_id,
        action="cancel",
        kind=TicketEventKind.CANCELLED,
        sets="status = %(to_status)s, cancel_reason = %(reason)s",
        detail="jsonb_build_object('reason', cancel_reason)",
        event_at_desk=False,
        params={"to_status": str(TicketStatus.CANCELLED), "reason": reason},
        actor=actor,
        partner_client_id=partner_client_id,
    )


@transaction.atomic
def ticket_requeue(*, ticket_id: int, actor=None, partner_client_id: str = "") -> Ticket:
    """Return a called ticket to the queue; it keeps its arrival time, so it keeps its place."""
    return _transition(
        ticket_id=ticket_id,
        action="requeue",
        kind=TicketEventKind.RETURNED,
        sets="status = %(to_status)s, desk_id = NULL",
        params={"to_status": str(TicketStatus.WAITING)},
        actor=actor,
        partner_client_id=partner_client_id,
    )


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
