"""The queue's hand-written statements on tickets: issue, lock, call, change, expire.

Calling next and the ticket actions run for every patient at every desk, so each reads and
writes in as few statements as it can; building those statements with the ORM costs more than
running them. Here table names come from the models' metadata, column lists are `ColumnList`s
that the tests check against the models, every value is a parameter (a name given twice fails),
and every ticket event is written by one builder, `_event_cte`. Services call these functions
with typed keyword arguments and never handle SQL.

Tickets come back as ordinary model instances; unless said otherwise with the relations the API
shows already loaded: service, desk, patient and the ticket a transfer came from.
"""

import datetime
import json
import uuid
from dataclasses import dataclass
from functools import cache

from django.db import connection

from common.rows import ColumnList, columns, from_row
from common.sql import Params
from patients.models import Patient
from queueing.models import (
    OPEN_STATUSES,
    CheckIn,
    CheckInStatus,
    Desk,
    PriorityTier,
    Service,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)

_TICKET = Ticket._meta.db_table
_EVENT = TicketEvent._meta.db_table
_COUNTER = TicketCounter._meta.db_table
_SERVICE = Service._meta.db_table
_DESK = Desk._meta.db_table
_DESK_SERVICES = Desk.services.through._meta.db_table
_PATIENT = Patient._meta.db_table
_CHECKIN = CheckIn._meta.db_table

_TICKET_COLUMNS, _TICKET_NAMES = columns(Ticket)
_TICKET_REF = ColumnList(Ticket, ("id", "display_code"))
_ISSUE_COLUMNS = ColumnList(
    Ticket,
    (
        "service_id",
        "service_day",
        "number",
        "display_code",
        "patient_id",
        "priority_tier",
        "priority_reason",
        "status",
        "arrived_at",
        "issued_at",
        "recall_count",
        "cancel_reason",
        "transferred_from_id",
    ),
    insert=True,
)
_COUNTER_COLUMNS = ColumnList(
    TicketCounter, ("service_id", "service_day", "last_number"), insert=True
)
_EVENT_COLUMNS = ColumnList(
    TicketEvent,
    (
        "ticket_id",
        "kind",
        "at",
        "from_status",
        "to_status",
        "actor_id",
        "partner_client_id",
        "desk_id",
        "detail",
    ),
    insert=True,
)
_DESK_COLUMNS = ColumnList(Desk, ("id", "name", "is_active"))
# What calling next needs of a desk's services.
_CALLING_SERVICE_COLUMNS = ColumnList(
    Service, ("id", "name", "prefix", "priority_policy", "interleave_after")
)


# --- ticket events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FromRow:
    """An event value read from the row the event is written for: a column or an expression."""

    sql: str


def _event_cte(
    *,
    params: Params,
    source: str,
    kind: TicketEventKind,
    at: datetime.datetime,
    from_status: str | _FromRow,
    to_status: str | _FromRow,
    actor_id: int | None,
    partner_client_id: str,
    desk_id: int | None | _FromRow,
    detail: dict | _FromRow,
) -> str:
    """`event AS (INSERT …)`: a `kind` event for each row of the CTE `source` (its `id`)."""

    def value(name: str, given, cast: str = "") -> str:
        if isinstance(given, _FromRow):
            return given.sql
        return params.add(f"event_{name}", given) + cast

    values = [
        "id",
        value("kind", str(kind)),
        value("at", at),
        value(
            "from_status", from_status if isinstance(from_status, _FromRow) else str(from_status)
        ),
        value("to_status", to_status if isinstance(to_status, _FromRow) else str(to_status)),
        value("actor", actor_id),
        value("partner", partner_client_id),
        value("desk", desk_id),
        value("detail", detail if isinstance(detail, _FromRow) else json.dumps(detail), "::jsonb"),
    ]
    return (
        f"event AS (\n    INSERT INTO {_EVENT} ({_EVENT_COLUMNS.sql()})\n"
        f"    SELECT {', '.join(values)}\n    FROM {source}\n)"
    )


# --- a ticket with its relations -----------------------------------------------------------------


@cache
def _layout() -> tuple[str, tuple]:
    ticket_sql, ticket_names = columns(Ticket, "t")
    service_sql, service_names = columns(Service, "s")
    desk_sql, desk_names = columns(Desk, "d")
    patient_sql, patient_names = columns(Patient, "p")
    select = f"{ticket_sql}, {service_sql}, {desk_sql}, {patient_sql}, {_TICKET_REF.sql('tf')}"
    return select, (ticket_names, service_names, desk_names, patient_names)


def _select_sql(*, source: str = _TICKET) -> str:
    """SELECT … FROM `source` t with its service, patient, desk and transferred-from ticket.

    `source` is the ticket table or a CTE shaped like it (an UPDATE … RETURNING t.*).
    """
    return (
        f"SELECT {_layout()[0]} FROM {source} t "
        f"JOIN {_SERVICE} s ON s.id = t.service_id "
        f"JOIN {_PATIENT} p ON p.id = t.patient_id "
        f"LEFT JOIN {_DESK} d ON d.id = t.desk_id "
        f"LEFT JOIN {_TICKET} tf ON tf.id = t.transferred_from_id"
    )


def _ticket_from_row(row) -> Ticket:
    """The Ticket of a `_select_sql` row, its relations set (no further queries)."""
    ticket_names, service_names, desk_names, patient_names = _layout()[1]
    at = 0

    def take(names):
        nonlocal at
        values = row[at : at + len(names)]
        at += len(names)
        return values

    ticket = from_row(Ticket, ticket_names, take(ticket_names))
    ticket.service = from_row(Service, service_names, take(service_names))
    desk_values = take(desk_names)
    ticket.desk = from_row(Desk, desk_names, desk_values) if desk_values[0] else None
    ticket.patient = from_row(Patient, patient_names, take(patient_names))
    from_values = take(_TICKET_REF.names)
    ticket.transferred_from = (
        from_row(Ticket, _TICKET_REF.names, from_values) if from_values[0] else None
    )
    return ticket


def _fetch_ticket(sql: str, params) -> Ticket | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return _ticket_from_row(row) if row is not None else None


def ticket_lock(*, ticket_id: int) -> Ticket:
    """The ticket, row-locked for this transaction, with its relations. DoesNotExist if none."""
    ticket = _fetch_ticket(f"{_select_sql()} WHERE t.id = %s FOR UPDATE OF t", [ticket_id])
    if ticket is None:
        raise Ticket.DoesNotExist(f"No ticket {ticket_id}.")
    return ticket


# --- issuing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckInQueued:
    """The check-in a ticket answers, marked queued with it by the ticket's own statement."""

    checkin_id: uuid.UUID
    processed_at: datetime.datetime


def _checkin_queued_cte(*, params: Params, checkin: CheckInQueued, patient: str) -> str:
    return f"""queued AS (
    UPDATE {_CHECKIN}
    SET status = {params.add("checkin_status", str(CheckInStatus.QUEUED))}, patient_id = {patient},
        ticket_id = (SELECT id FROM chosen), failure_reason = '',
        processed_at = {params.add("checkin_processed_at", checkin.processed_at)}
    WHERE id = {params.add("checkin", str(checkin.checkin_id))}
)"""


def ticket_insert(
    *,
    service: Service,
    patient_id: int,
    service_day: datetime.date,
    priority_tier: int,
    priority_reason: str,
    arrived_at: datetime.datetime,
    now: datetime.datetime,
    actor_id: int | None,
    partner_client_id: str,
    transferred_from: Ticket | None = None,
    reuse_open: bool = False,
    checkin_queued: CheckInQueued | None = None,
) -> tuple[Ticket, bool]:
    """A waiting ticket numbered next in the service's day, with its ISSUED event: (ticket, True).

    One statement. The counter row's upsert serialises concurrent issuers of a service's day:
    numbers have no gaps and no repeats. With `reuse_open` the patient's open ticket of the
    service and day is the answer instead, (ticket, False), and nothing is numbered: call it
    holding the patient's row lock, so that no concurrent visit slips between the check and
    the insert. With `checkin_queued` that check-in is marked queued with the ticket in the same
    statement (the counter row stays locked until commit: no further round trip while it is).
    The ticket's relations are not loaded.
    """
    p = Params()
    service_id = p.add("service", service.pk)
    day = p.add("day", service_day)
    patient = p.add("patient", patient_id)
    open_cte = unless_open = union_open = ""
    if reuse_open:
        open_statuses = p.add("open_statuses", tuple(str(status) for status in OPEN_STATUSES))
        open_cte = f"""open_ticket AS (
    SELECT {_TICKET_COLUMNS} FROM {_TICKET}
    WHERE patient_id = {patient} AND service_id = {service_id} AND service_day = {day}
      AND status IN {open_statuses}
    ORDER BY id LIMIT 1
), """
        unless_open = "WHERE NOT EXISTS (SELECT 1 FROM open_ticket)"
        union_open = f"UNION ALL SELECT false, {_TICKET_COLUMNS} FROM open_ticket"
    event = _event_cte(
        params=p,
        source="issued",
        kind=TicketEventKind.ISSUED,
        at=now,
        from_status="",
        to_status=TicketStatus.WAITING,
        actor_id=actor_id,
        partner_client_id=partner_client_id,
        desk_id=None,
        detail={"transferred_from": transferred_from.display_code} if transferred_from else {},
    )
    queued = ""
    if checkin_queued is not None:
        queued = ", " + _checkin_queued_cte(params=p, checkin=checkin_queued, patient=patient)
    code = (
        f"{p.add('prefix', service.prefix)}"
        " || lpad(last_number::text, greatest(3, length(last_number::text)), '0')"
    )
    sql = f"""WITH {open_cte}counter AS (
    INSERT INTO {_COUNTER} ({_COUNTER_COLUMNS.sql()})
    SELECT {service_id}, {day}, 1 {unless_open}
    ON CONFLICT (service_id, service_day)
    DO UPDATE SET last_number = {_COUNTER}.last_number + 1
    RETURNING last_number
), issued AS (
    INSERT INTO {_TICKET} ({_ISSUE_COLUMNS.sql()})
    SELECT {service_id}, {day}, last_number, {code},
           {patient}, {p.add("tier", int(priority_tier))}, {p.add("reason", str(priority_reason))},
           {p.add("waiting", str(TicketStatus.WAITING))}, {p.add("arrived", arrived_at)},
           {p.add("now", now)}, 0, '',
           {p.add("transferred_from", transferred_from.pk if transferred_from else None)}
    FROM counter
    RETURNING {_TICKET_COLUMNS}
), {event}, chosen AS (
    SELECT true AS created, {_TICKET_COLUMNS} FROM issued {union_open}
){queued}
SELECT * FROM chosen"""
    with connection.cursor() as cursor:
        cursor.execute(sql, p)
        created, *values = cursor.fetchone()
    return from_row(Ticket, _TICKET_NAMES, values), created


# --- calling -------------------------------------------------------------------------------------

_DESK_LOCK_SQL = f"""
SELECT {_DESK_COLUMNS.sql("d")},
       (SELECT t.id FROM {_TICKET} t
        WHERE t.desk_id = d.id AND t.service_day = %s AND t.status IN %s
        ORDER BY t.called_at DESC LIMIT 1),
       (SELECT json_agg(json_build_array({_CALLING_SERVICE_COLUMNS.sql("s")}) ORDER BY s.id)
        FROM {_DESK_SERVICES} ds
        JOIN {_SERVICE} s ON s.id = ds.service_id
        WHERE ds.desk_id = d.id AND s.is_active)
FROM {_DESK} d WHERE d.id = %s FOR UPDATE OF d
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


_LATEST_CALL_TIERS_SQL = f"""
SELECT t.priority_tier
FROM {_EVENT} e
JOIN {_TICKET} t ON t.id = e.ticket_id
WHERE e.kind = %s AND e.at >= %s AND t.service_id = %s AND t.service_day = %s
ORDER BY e.at DESC, e.id DESC
LIMIT %s
"""


def service_latest_call_tiers(
    *, service_id: int, service_day: datetime.date, since: datetime.datetime, limit: int
) -> list[int]:
    """Priority tiers of the service's latest calls of the day (from `since`), newest first.

    Read from the CALLED events, which are the record of calls.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _LATEST_CALL_TIERS_SQL,
            [str(TicketEventKind.CALLED), since, service_id, service_day, limit],
        )
        return [tier for (tier,) in cursor.fetchall()]


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

    Call order is tier, arrival, id (arrival, id among normal tickets with `normal_only`).
    The pick skips rows other desks hold locked (FOR UPDATE SKIP LOCKED), so two desks never
    get the same ticket. `services IN (…)` with one service is `service_id = …`: the pick then
    walks the partial index ticket_waiting_call_order in call order. `interleave_turn` is
    recorded on the event (a normal ticket's turn of an interleaved service).
    """
    p = Params()
    waiting = p.add("waiting", str(TicketStatus.WAITING))
    normal = (
        f"AND priority_tier = {p.add('normal', int(PriorityTier.NORMAL))}" if normal_only else ""
    )
    event = _event_cte(
        params=p,
        source="called",
        kind=TicketEventKind.CALLED,
        at=now,
        from_status=TicketStatus.WAITING,
        to_status=_FromRow("status"),
        actor_id=actor_id,
        partner_client_id=partner_client_id,
        desk_id=desk_id,
        detail={"interleave_turn": True} if interleave_turn else {},
    )
    sql = f"""
WITH picked AS (
    SELECT id FROM {_TICKET}
    WHERE service_day = {p.add("today", today)} AND status = {waiting}
          AND service_id IN {p.add("services", tuple(service_ids))} {normal}
    ORDER BY {"arrived_at, id" if normal_only else "priority_tier, arrived_at, id"} LIMIT 1
    FOR UPDATE SKIP LOCKED
), called AS (
    UPDATE {_TICKET} t
    SET status = {p.add("called", str(TicketStatus.CALLED))},
        called_at = COALESCE(t.called_at, {p.add("now", now)}), desk_id = {p.add("desk", desk_id)},
        called_by_id = {p.add("actor", actor_id)}
    FROM picked WHERE t.id = picked.id
    RETURNING t.*
), {event}
{_select_sql(source="called")}
"""
    return _fetch_ticket(sql, p)


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
    event = _event_cte(
        params=p,
        source="changed",
        kind=kind,
        at=now,
        from_status=from_status,
        to_status=_FromRow("status"),
        actor_id=actor_id,
        partner_client_id=partner_client_id,
        desk_id=_FromRow("previous_desk_id") if change.at_desk else None,
        detail=_FromRow(change.detail) if change.detail else (detail or {}),
    )
    sql = f"""
WITH locked AS (
    SELECT id, desk_id FROM {_TICKET}
    WHERE id = {p.add("ticket", ticket_id)} AND status = {p.add("from_status", str(from_status))}
          {today_only}
    FOR UPDATE
), changed AS (
    UPDATE {_TICKET} t SET {", ".join(sets)} FROM locked WHERE t.id = locked.id
    RETURNING t.*, locked.desk_id AS previous_desk_id
), {event}
{_select_sql(source="changed")}
"""
    return _fetch_ticket(sql, p)


def tickets_expire(*, before: datetime.date, at: datetime.datetime) -> set[datetime.date]:
    """Expire every open ticket of a service day before `before`, each with an EXPIRED event.

    One statement; returns the service days that had open tickets.
    """
    p = Params()
    event = _event_cte(
        params=p,
        source="expired",
        kind=TicketEventKind.EXPIRED,
        at=at,
        from_status=_FromRow("from_status"),
        to_status=TicketStatus.EXPIRED,
        actor_id=None,
        partner_client_id="",
        desk_id=None,
        detail=_FromRow(
            f"jsonb_build_object('reason', {p.add('reason', 'day_closed')}::text, "
            "'service_day', service_day)"
        ),
    )
    sql = f"""
WITH old AS (
    SELECT id, status FROM {_TICKET}
    WHERE service_day < {p.add("before", before)}
          AND status = ANY({p.add("open_statuses", [str(s) for s in OPEN_STATUSES])})
    FOR UPDATE
), expired AS (
    UPDATE {_TICKET} t SET status = {p.add("expired", str(TicketStatus.EXPIRED))}
    FROM old WHERE t.id = old.id
    RETURNING t.id, t.service_day, old.status AS from_status
), {event}
SELECT DISTINCT service_day FROM expired
"""
    with connection.cursor() as cursor:
        cursor.execute(sql, p)
        return {day for (day,) in cursor.fetchall()}
