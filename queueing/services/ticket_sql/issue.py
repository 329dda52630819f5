"""Issuing a ticket: its number, the ticket, its ISSUED event (and a check-in's answer) at once."""

import datetime
import uuid
from dataclasses import dataclass

from django.db import connection

from common.rows import ColumnList, from_row
from common.sql import Params
from queueing.models import (
    OPEN_STATUSES,
    CheckInStatus,
    Service,
    Ticket,
    TicketCounter,
    TicketEventKind,
    TicketStatus,
)
from queueing.services.ticket_sql.base import (
    CHECKIN,
    COUNTER,
    TICKET,
    TICKET_COLUMNS,
    TICKET_NAMES,
    event_cte,
)

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
        "rank_at",
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


@dataclass(frozen=True)
class CheckInQueued:
    """The check-in a ticket answers, marked queued with it by the ticket's own statement."""

    checkin_id: uuid.UUID
    processed_at: datetime.datetime


def _checkin_queued_cte(*, params: Params, checkin: CheckInQueued, patient: str) -> str:
    return f"""queued AS (
    UPDATE {CHECKIN}
    SET status = {params.add("checkin_status", str(CheckInStatus.QUEUED))}, patient_id = {patient},
        ticket_id = (SELECT id FROM chosen), failure_reason = '',
        processed_at = {params.add("checkin_processed_at", checkin.processed_at)}
    WHERE id = {params.add("checkin", str(checkin.checkin_id))}
)"""


def _issued_detail(
    *,
    arrived_at: datetime.datetime,
    rank_at: datetime.datetime | None,
    transferred_from: Ticket | None,
) -> dict:
    detail: dict = {}
    if transferred_from is not None:
        detail["transferred_from"] = transferred_from.display_code
    if rank_at is not None and rank_at != arrived_at:
        detail["rank_at"] = rank_at.isoformat()
    return detail


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
    rank_at: datetime.datetime | None = None,
    transferred_from: Ticket | None = None,
    reuse_open: bool = False,
    checkin_queued: CheckInQueued | None = None,
) -> tuple[Ticket, bool]:
    """A waiting ticket numbered next in the service's day, with its ISSUED event: (ticket, True).

    One statement. The counter row's upsert serialises concurrent issuers of a service's day:
    numbers have no gaps and no repeats. With `reuse_open` the patient's open ticket of the
    service and day is the answer instead, (ticket, False), and nothing is numbered: call it
    holding the patient's row lock, so that no concurrent visit slips between the check and
    the insert. `rank_at` places it in the call order (its arrival when None; a booked
    appointment's time otherwise, recorded on the ISSUED event). With `checkin_queued` that
    check-in is marked queued with the ticket in the same statement (the counter row stays
    locked until commit: no further round trip while it is). The ticket's relations are not
    loaded.
    """
    p = Params()
    service_id = p.add("service", service.pk)
    day = p.add("day", service_day)
    patient = p.add("patient", patient_id)
    open_cte = unless_open = union_open = ""
    if reuse_open:
        open_statuses = p.add("open_statuses", tuple(str(status) for status in OPEN_STATUSES))
        open_cte = f"""open_ticket AS (
    SELECT {TICKET_COLUMNS} FROM {TICKET}
    WHERE patient_id = {patient} AND service_id = {service_id} AND service_day = {day}
      AND status IN {open_statuses}
    ORDER BY id LIMIT 1
), """
        unless_open = "WHERE NOT EXISTS (SELECT 1 FROM open_ticket)"
        union_open = f"UNION ALL SELECT false, {TICKET_COLUMNS} FROM open_ticket"
    event = event_cte(
        params=p,
        source="issued",
        kind=TicketEventKind.ISSUED,
        at=now,
        from_status="",
        to_status=TicketStatus.WAITING,
        actor_id=actor_id,
        partner_client_id=partner_client_id,
        desk_id=None,
        detail=_issued_detail(
            arrived_at=arrived_at, rank_at=rank_at, transferred_from=transferred_from
        ),
    )
    queued = ""
    if checkin_queued is not None:
        queued = ", " + _checkin_queued_cte(params=p, checkin=checkin_queued, patient=patient)
    code = (
        f"{p.add('prefix', service.prefix)}"
        " || lpad(last_number::text, greatest(3, length(last_number::text)), '0')"
    )
    sql = f"""WITH {open_cte}counter AS (
    INSERT INTO {COUNTER} ({_COUNTER_COLUMNS.sql()})
    SELECT {service_id}, {day}, 1 {unless_open}
    ON CONFLICT (service_id, service_day)
    DO UPDATE SET last_number = {COUNTER}.last_number + 1
    RETURNING last_number
), issued AS (
    INSERT INTO {TICKET} ({_ISSUE_COLUMNS.sql()})
    SELECT {service_id}, {day}, last_number, {code},
           {patient}, {p.add("tier", int(priority_tier))}, {p.add("reason", str(priority_reason))},
           {p.add("waiting", str(TicketStatus.WAITING))}, {p.add("arrived", arrived_at)},
           {p.add("rank_at", rank_at or arrived_at)}, {p.add("now", now)}, 0, '',
           {p.add("transferred_from", transferred_from.pk if transferred_from else None)}
    FROM counter
    RETURNING {TICKET_COLUMNS}
), {event}, chosen AS (
    SELECT true AS created, {TICKET_COLUMNS} FROM issued {union_open}
){queued}
SELECT * FROM chosen"""
    with connection.cursor() as cursor:
        cursor.execute(sql, p)
        created, *values = cursor.fetchone()
    return from_row(Ticket, TICKET_NAMES, values), created
