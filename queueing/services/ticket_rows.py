"""Hand-written SQL for the queue's hot paths: a ticket with everything its answer shows.

Calling next and the ticket actions run for every patient at every desk, so each reads and
writes in as few statements as it can. Building those statements with the ORM costs more than
running them; these are built once from the models' own metadata (so a renamed column cannot
drift) and return ordinary model instances, with the relations the API shows already loaded:
service, desk, patient and the ticket a transfer came from.
"""

from functools import cache

from django.db import connection

from common.rows import columns, from_row
from patients.models import Patient
from queueing.models import Desk, Service, Ticket


@cache
def _layout() -> dict:
    ticket_sql, ticket_names = columns(Ticket, "t")
    service_sql, service_names = columns(Service, "s")
    desk_sql, desk_names = columns(Desk, "d")
    patient_sql, patient_names = columns(Patient, "p")
    return {
        "select": f"{ticket_sql}, {service_sql}, {desk_sql}, {patient_sql}, tf.id, tf.display_code",
        "names": (ticket_names, service_names, desk_names, patient_names),
    }


def ticket_select_sql(*, source: str = f"{Ticket._meta.db_table}") -> str:
    """SELECT … FROM `source` t with its service, patient, desk and transferred-from ticket.

    `source` is the ticket table or a CTE shaped like it (an UPDATE … RETURNING *).
    """
    return (
        f"SELECT {_layout()['select']} FROM {source} t "
        f"JOIN {Service._meta.db_table} s ON s.id = t.service_id "
        f"JOIN {Patient._meta.db_table} p ON p.id = t.patient_id "
        f"LEFT JOIN {Desk._meta.db_table} d ON d.id = t.desk_id "
        f"LEFT JOIN {Ticket._meta.db_table} tf ON tf.id = t.transferred_from_id"
    )


def ticket_from_row(row) -> Ticket:
    """The Ticket of a `ticket_select_sql` row, its relations set (no further queries)."""
    ticket_names, service_names, desk_names, patient_names = _layout()["names"]
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
    from_id, from_code = row[at], row[at + 1]
    ticket.transferred_from = (
        from_row(Ticket, ("id", "display_code"), (from_id, from_code)) if from_id else None
    )
    return ticket


def ticket_lock(*, ticket_id: int) -> Ticket:
    """The ticket, row-locked for this transaction, with its relations. DoesNotExist if none."""
    with connection.cursor() as cursor:
        cursor.execute(f"{ticket_select_sql()} WHERE t.id = %s FOR UPDATE OF t", [ticket_id])
        row = cursor.fetchone()
    if row is None:
        raise Ticket.DoesNotExist(f"No ticket {ticket_id}.")
    return ticket_from_row(row)
