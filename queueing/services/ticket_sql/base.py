"""What every ticket statement shares: tables, a ticket with its relations, the event builder."""

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection

from common.rows import ColumnList, columns, from_row
from common.sql import Params
from patients.models import Patient
from queueing.models import (
    CheckIn,
    Desk,
    Service,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketEventKind,
)

TICKET = Ticket._meta.db_table
EVENT = TicketEvent._meta.db_table
COUNTER = TicketCounter._meta.db_table
SERVICE = Service._meta.db_table
DESK = Desk._meta.db_table
DESK_SERVICES = Desk.services.through._meta.db_table
PATIENT = Patient._meta.db_table
CHECKIN = CheckIn._meta.db_table

TICKET_COLUMNS, TICKET_NAMES = columns(Ticket)
_TICKET_REF = ColumnList(Ticket, ("id", "display_code"))
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


# --- ticket events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FromRow:
    """An event value read from the row the event is written for: a column or an expression."""

    sql: str


def event_cte(
    *,
    params: Params,
    source: str,
    kind: TicketEventKind,
    at: datetime.datetime,
    from_status: str | FromRow,
    to_status: str | FromRow,
    actor_id: int | None,
    partner_client_id: str,
    desk_id: int | None | FromRow,
    detail: dict | FromRow,
) -> str:
    """`event AS (INSERT …)`: a `kind` event for each row of the CTE `source` (its `id`)."""

    def value(name: str, given: object, cast: str = "") -> str:
        if isinstance(given, FromRow):
            return given.sql
        return params.add(f"event_{name}", given) + cast

    values = [
        "id",
        value("kind", str(kind)),
        value("at", at),
        value("from_status", from_status if isinstance(from_status, FromRow) else str(from_status)),
        value("to_status", to_status if isinstance(to_status, FromRow) else str(to_status)),
        value("actor", actor_id),
        value("partner", partner_client_id),
        value("desk", desk_id),
        value("detail", detail if isinstance(detail, FromRow) else json.dumps(detail), "::jsonb"),
    ]
    return (
        f"event AS (\n    INSERT INTO {EVENT} ({_EVENT_COLUMNS.sql()})\n"
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


def select_sql(*, source: str = TICKET) -> str:
    """SELECT … FROM `source` t with its service, patient, desk and transferred-from ticket.

    `source` is the ticket table or a CTE shaped like it (an UPDATE … RETURNING t.*).
    """
    return (
        f"SELECT {_layout()[0]} FROM {source} t "
        f"JOIN {SERVICE} s ON s.id = t.service_id "
        f"JOIN {PATIENT} p ON p.id = t.patient_id "
        f"LEFT JOIN {DESK} d ON d.id = t.desk_id "
        f"LEFT JOIN {TICKET} tf ON tf.id = t.transferred_from_id"
    )


def _ticket_from_row(row: Sequence[Any]) -> Ticket:
    """The Ticket of a `select_sql` row, its relations set (no further queries)."""
    ticket_names, service_names, desk_names, patient_names = _layout()[1]
    at = 0

    def take(names: tuple[str, ...]) -> Sequence[Any]:
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


def fetch_ticket(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> Ticket | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return _ticket_from_row(row) if row is not None else None


def ticket_lock(*, ticket_id: int) -> Ticket:
    """The ticket, row-locked for this transaction, with its relations. DoesNotExist if none."""
    ticket = fetch_ticket(f"{select_sql()} WHERE t.id = %s FOR UPDATE OF t", [ticket_id])
    if ticket is None:
        raise Ticket.DoesNotExist(f"No ticket {ticket_id}.")
    return ticket
