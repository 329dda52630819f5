"""A ticket's moves after issue: called by a desk, recalled, started ... transferred, expired."""

import datetime
from dataclasses import dataclass

from django.db import connection

from common.rows import ColumnList, from_row
from common.sql import Params
from queueing.models import (
    OPEN_STATUSES,
    Desk,
    PriorityTier,
    Service,
    Ticket,
    TicketEventKind,
    TicketStatus,
)
from queueing.services.ticket_sql.base import (
    DESK,
    DESK_SERVICES,
    EVENT,
    SERVICE,
    TICKET,
    FromRow,
    event_cte,
    fetch_ticket,
    select_sql,
)

_DESK_COLUMNS = ColumnList(Desk, ("id", "name", "is_active", "break_reason", "break_started_at"))
# What calling next needs of a desk's services.
_CALLING_SERVICE_COLUMNS = ColumnList(
    Service, ("id", "name", "prefix", "priority_policy", "interleave_after")
)

_DESK_LOCK_SQL = f"""
SELECT {_DESK_COLUMNS.sql("d")},
       (SELECT t.id FROM {TICKET} t
        WHERE t.desk_id = d.id AND t.service_day = %s AND t.status IN %s
        ORDER BY t.called_at DESC LIMIT 1),
       (SELECT json_agg(json_build_array({_CALLING_SERVICE_COLUMNS.sql("s")}) ORDER BY s.id)
        FROM {DESK_SERVICES} ds
        JOIN {SERVICE} s ON s.id = ds.service_id
        WHERE ds.desk_id = d.id AND s.is_active)
FROM {DESK} d WHERE d.id = %s FOR UPDATE OF d
"""


def desk_lock_for_calling(
    *, desk_id: int, today: datetime.date, held_statuses: tuple[str, ...]
) -> tuple[Desk, int | None, dict[int, Service]]:
    """The desk, row-locked, the id of today's ticket it holds, and its active services by id.

    One statement; the services carry the fields calling needs. DoesNotExist for no such desk.
    """
    with connection.cursor() as cursor:
        cursor.execute(_DESK_LOCK_SQL, [today, tuple(str(s) for s in held_statuses), desk_id])
        row = cursor.fetchone()
    if row is None:
        raise Desk.DoesNotExist(f"No desk {desk_id}.")
    count = len(_DESK_COLUMNS.names)
    desk = from_row(Desk, _DESK_COLUMNS.names, row[:count])
    services = {
        values[0]: from_row(Service, _CALLING_SERVICE_COLUMNS.names, values)
        for values in row[count + 1] or ()
    }
    return desk, row[count], services


_LATEST_CALLS_SQL = f"""
SELECT t.priority_tier, e.at
FROM {EVENT} e
JOIN {TICKET} t ON t.id = e.ticket_id
WHERE e.kind = %s AND e.at >= %s AND t.service_id = %s AND t.service_day = %s
ORDER BY e.at DESC
LIMIT %s
"""


def service_latest_calls(
    *, service_id: int, service_day: datetime.date, since: datetime.datetime, limit: int
) -> list[tuple[int, datetime.datetime]]:
    """(priority tier, time) of the service's latest calls of the day (from `since`), newest first.

    Read from the CALLED events, which are the record of calls, walking ticket_event_kind_at
    back from the newest: the caller holds the service's lock, and each of an interleaved
    service's calls is timed after the one before it, so time alone orders them (no sort).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _LATEST_CALLS_SQL,
            [str(TicketEventKind.CALLED), since, service_id, service_day, limit],
        )
        return [(tier, at) for tier, at in cursor.fetchall()]


def _pick_cte(
    *, params: Params, today: datetime.date, service_ids: list[int], normal_only: bool
) -> str:
    """`picked AS (…)`: the first waiting ticket of `service_ids` in call order, row-locked.

    Call order is tier, rank time (the arrival, or a booking's time), id; rows other transactions
    hold are passed over (FOR UPDATE SKIP LOCKED). Both forms walk the partial index
    ticket_waiting_call_order in that order and stop at the first ticket they can lock: for one
    service the index is the order; for several, each step takes every service's next ticket
    after the previous step's (one index probe per service) and moves on to the first of them,
    so no statement ever sorts the queue.
    """
    p = params
    day = p.add("today", today)
    waiting = p.add("waiting", str(TicketStatus.WAITING))
    normal = (
        f"AND priority_tier = {p.add('normal', int(PriorityTier.NORMAL))}" if normal_only else ""
    )
    if len(service_ids) == 1:
        return f"""picked AS (
    SELECT id FROM {TICKET}
    WHERE service_id = {p.add("service", service_ids[0])} AND service_day = {day}
          AND status = {waiting} {normal}
    ORDER BY priority_tier, rank_at, id LIMIT 1
    FOR UPDATE SKIP LOCKED
)"""
    services = p.add("services", list(service_ids))

    def first_of_the_heads(after: str = "") -> str:
        return f"""SELECT head.* FROM unnest({services}::int[]) AS service (id)
        CROSS JOIN LATERAL (
            SELECT id, priority_tier, rank_at FROM {TICKET}
            WHERE service_id = service.id AND service_day = {day} AND status = {waiting}
                  {normal} {after}
            ORDER BY priority_tier, rank_at, id LIMIT 1
        ) head
        ORDER BY head.priority_tier, head.rank_at, head.id LIMIT 1"""

    after_previous = (
        "AND (priority_tier, rank_at, id) > (previous.priority_tier, previous.rank_at, previous.id)"
    )
    # A recursive query yields its rows only as they are read: the walk stops at the first
    # ticket `picked` can lock.
    return f"""call_order (id, priority_tier, rank_at) AS (
    ({first_of_the_heads()})
    UNION ALL
    SELECT next.* FROM call_order previous CROSS JOIN LATERAL (
        {first_of_the_heads(after_previous)}
    ) next
), picked AS (
    SELECT locked.id FROM call_order CROSS JOIN LATERAL (
        SELECT id FROM {TICKET} t WHERE t.id = call_order.id AND t.status = {waiting}
        FOR UPDATE SKIP LOCKED
    ) locked
    LIMIT 1
)"""


def ticket_call_first_waiting(
    *,
    today: datetime.date,
    service_ids: list[int],
    normal_only: bool,
    desk_id: int,
    now: datetime.datetime,
    actor_id: int | None,
    partner_client_id: str,
    interleave_turn: bool = False,
) -> Ticket | None:
    """Pick, call and record the first waiting ticket of `service_ids` in call order; one statement.

    Call order is tier, rank time, id (only normal tickets with `normal_only`). The pick passes
    over rows other desks hold locked (FOR UPDATE SKIP LOCKED), so two desks never get the same
    ticket, and walks the index ticket_waiting_call_order whatever the number of services (see
    `_pick_cte`). `interleave_turn` is recorded on the event (a normal ticket's turn of an
    interleaved service).
    """
    p = Params()
    picked = _pick_cte(params=p, today=today, service_ids=service_ids, normal_only=normal_only)
    return _call(
        p,
        picked=picked,
        desk_id=desk_id,
        now=now,
        actor_id=actor_id,
        partner_client_id=partner_client_id,
        detail={"interleave_turn": True} if interleave_turn else {},
    )


def ticket_call_chosen_waiting(
    *,
    ticket_id: int,
    today: datetime.date,
    desk_id: int,
    now: datetime.datetime,
    actor_id: int | None,
    partner_client_id: str,
    detail: dict,
) -> Ticket | None:
    """Call and record one chosen ticket if it is waiting today; one statement (None if not)."""
    p = Params()
    picked = f"""picked AS (
    SELECT id FROM {TICKET}
    WHERE id = {p.add("ticket", ticket_id)} AND service_day = {p.add("today", today)}
          AND status = {p.add("waiting", str(TicketStatus.WAITING))}
    FOR UPDATE
)"""
    return _call(
        p,
        picked=picked,
        desk_id=desk_id,
        now=now,
        actor_id=actor_id,
        partner_client_id=partner_client_id,
        detail=detail,
    )


def _call(
    p: Params,
    *,
    picked: str,
    desk_id: int,
    now: datetime.datetime,
    actor_id: int | None,
    partner_client_id: str,
    detail: dict,
) -> Ticket | None:
    """Call the ticket of the CTE `picked` to the desk and record its CALLED event."""
    event = event_cte(
        params=p,
        source="called",
        kind=TicketEventKind.CALLED,
        at=now,
        from_status=TicketStatus.WAITING,
        to_status=FromRow("status"),
        actor_id=actor_id,
        partner_client_id=partner_client_id,
        desk_id=desk_id,
        detail=detail,
    )
    sql = f"""
WITH RECURSIVE {picked}, called AS (
    UPDATE {TICKET} t
    SET status = {p.add("called", str(TicketStatus.CALLED))},
        called_at = COALESCE(t.called_at, {p.add("now", now)}), desk_id = {p.add("desk", desk_id)},
        called_by_id = {p.add("actor", actor_id)}
    FROM picked WHERE t.id = picked.id
    RETURNING t.*
), {event}
{select_sql(source="called")}
"""
    return fetch_ticket(sql, p)


# --- later moves of a ticket ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    """What a kind of move writes beside the status, and what its event records."""

    # SET items over the ticket `t`; they may use the parameters now and cancel_reason.
    sets: tuple[str, ...] = ()
    # The event's detail as an expression over the changed row; else the detail given.
    detail: str | None = None
    # Whether the event names the desk that held the ticket.
    at_desk: bool = True


_CHANGES: dict[str, _Change] = {
    TicketEventKind.RECALLED: _Change(
        sets=("recall_count = t.recall_count + 1",),
        detail="jsonb_build_object('recall_count', recall_count)",
    ),
    TicketEventKind.STARTED: _Change(sets=("started_at = %(now)s",)),
    TicketEventKind.FINISHED: _Change(sets=("finished_at = %(now)s",)),
    TicketEventKind.NO_SHOW: _Change(),
    TicketEventKind.CANCELLED: _Change(
        sets=("cancel_reason = %(cancel_reason)s",),
        detail="jsonb_build_object('reason', cancel_reason)",
        at_desk=False,
    ),
    TicketEventKind.RETURNED: _Change(sets=("desk_id = NULL",)),
    TicketEventKind.TRANSFERRED: _Change(sets=("finished_at = %(now)s",)),
    # An undone no-show is called at its desk again; an undone cancellation waits again.
    TicketEventKind.RESTORED: _Change(sets=("cancel_reason = ''",)),
}


def ticket_change(
    *,
    ticket_id: int,
    kind: TicketEventKind,
    from_status: str,
    to_status: str,
    today: datetime.date | None,
    now: datetime.datetime,
    actor_id: int | None,
    partner_client_id: str,
    cancel_reason: str = "",
    detail: dict | None = None,
) -> Ticket | None:
    """Move the ticket from `from_status` to `to_status` and record a `kind` event; one statement.

    With `today`, only a ticket of that service day moves. None, with nothing changed, when the
    ticket is not in `from_status` (or not of `today`). What each kind writes beside the status
    (a start time, the reason of a cancellation ...) is in `_CHANGES`.
    """
    change = _CHANGES[kind]
    p = Params()
    p.add("now", now)
    p.add("cancel_reason", cancel_reason)
    sets = list(change.sets)
    if to_status != from_status:
        sets.insert(0, f"status = {p.add('to_status', str(to_status))}")
    today_only = f"AND service_day = {p.add('today', today)}" if today is not None else ""
    event = event_cte(
        params=p,
        source="changed",
        kind=kind,
        at=now,
        from_status=from_status,
        to_status=FromRow("status"),
        actor_id=actor_id,
        partner_client_id=partner_client_id,
        desk_id=FromRow("previous_desk_id") if change.at_desk else None,
        detail=FromRow(change.detail) if change.detail else (detail or {}),
    )
    sql = f"""
WITH locked AS (
    SELECT id, desk_id FROM {TICKET}
    WHERE id = {p.add("ticket", ticket_id)} AND status = {p.add("from_status", str(from_status))}
          {today_only}
    FOR UPDATE
), changed AS (
    UPDATE {TICKET} t SET {", ".join(sets)} FROM locked WHERE t.id = locked.id
    RETURNING t.*, locked.desk_id AS previous_desk_id
), {event}
{select_sql(source="changed")}
"""
    return fetch_ticket(sql, p)


def tickets_expire(*, before: datetime.date, at: datetime.datetime) -> set[datetime.date]:
    """Expire every open ticket of a service day before `before`, each with an EXPIRED event.

    One statement; returns the service days that had open tickets.
    """
    p = Params()
    event = event_cte(
        params=p,
        source="expired",
        kind=TicketEventKind.EXPIRED,
        at=at,
        from_status=FromRow("from_status"),
        to_status=TicketStatus.EXPIRED,
        actor_id=None,
        partner_client_id="",
        desk_id=None,
        detail=FromRow(
            f"jsonb_build_object('reason', {p.add('reason', 'day_closed')}::text, "
            "'service_day', service_day)"
        ),
    )
    sql = f"""
WITH old AS (
    SELECT id, status FROM {TICKET}
    WHERE service_day < {p.add("before", before)}
          AND status = ANY({p.add("open_statuses", [str(s) for s in OPEN_STATUSES])})
    FOR UPDATE
), expired AS (
    UPDATE {TICKET} t SET status = {p.add("expired", str(TicketStatus.EXPIRED))}
    FROM old WHERE t.id = old.id
    RETURNING t.id, t.service_day, old.status AS from_status
), {event}
SELECT DISTINCT service_day FROM expired
"""
    with connection.cursor() as cursor:
        cursor.execute(sql, p)
        return {day for (day,) in cursor.fetchall()}
