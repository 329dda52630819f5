"""The queue's hand-written statements on tickets: issue, lock, call, change, expire.

Calling next and the ticket actions run for every patient at every desk, so each reads and
writes in as few statements as it can; building those statements with the ORM costs more than
running them. Here table names come from the models' metadata, column lists are `ColumnList`s
that the tests check against the models, every value is a parameter (a name given twice fails),
and every ticket event is written by one builder, `base.event_cte`. Services call these
functions with typed keyword arguments and never handle SQL.

Tickets come back as ordinary model instances; unless said otherwise with the relations the API
shows already loaded: service, desk, patient and the ticket a transfer came from.
"""

from queueing.services.ticket_sql.base import ticket_lock
from queueing.services.ticket_sql.issue import CheckInQueued, ticket_insert
from queueing.services.ticket_sql.moves import (
    desk_lock_for_calling,
    service_latest_calls,
    ticket_call_chosen_waiting,
    ticket_call_first_waiting,
    ticket_change,
    tickets_expire,
)

__all__ = [
    "CheckInQueued",
    "desk_lock_for_calling",
    "service_latest_calls",
    "ticket_call_chosen_waiting",
    "ticket_call_first_waiting",
    "ticket_change",
    "ticket_insert",
    "ticket_lock",
    "tickets_expire",
]
