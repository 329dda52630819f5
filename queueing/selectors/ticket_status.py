"""What a patient may see of their own ticket: code, place, estimate, desk. Never who they are."""

from typing import TypedDict

from queueing.models import OPEN_STATUSES, Ticket, TicketStatus
from queueing.selectors.queue import ticket_position_and_estimate

# A ticket transferred on and on is followed this far, no further.
_TRANSFERS_FOLLOWED = 10


class TicketPublicStatus(TypedDict):
    ticket_id: int
    display_code: str
    printed_code: str  # the code of the link's own ticket (on the paper), before any transfer
    service: str
    status: str
    position: int | None
    estimated_wait_minutes: int | None
    desk: str | None
    called_at: str | None
    recall_count: int
    ended: bool


def _current(ticket: Ticket) -> Ticket:
    """The ticket the patient holds now: a transfer closes one ticket and opens another."""
    for _ in range(_TRANSFERS_FOLLOWED):
        if ticket.status != TicketStatus.TRANSFERRED:
            break
        following = (
            Ticket.objects.select_related("service", "desk")
            .filter(transferred_from_id=ticket.pk)
            .first()
        )
        if following is None:
            break
        ticket = following
    return ticket


def ticket_current_id(*, ticket_id: int) -> int | None:
    """The ticket a status link's ticket has become (following transfers); None if there is none.

    A status page's live stream follows this ticket: a transfer's new ticket has its own events.
    """
    ticket = Ticket.objects.filter(pk=ticket_id).only("pk", "status").first()
    return None if ticket is None else _current(ticket).pk


def ticket_public_status(*, ticket_id: int) -> TicketPublicStatus | None:
    """The patient-facing state of a ticket (following transfers); None if there is none.

    The status page polls it, and a live stream can send the same dictionary on each event.
    """
    ticket = Ticket.objects.select_related("service", "desk").filter(pk=ticket_id).first()
    if ticket is None:
        return None
    printed_code = ticket.display_code
    ticket = _current(ticket)
    position, estimate = ticket_position_and_estimate(ticket=ticket)
    at_desk = ticket.status in (TicketStatus.CALLED, TicketStatus.IN_SERVICE)
    return {
        "ticket_id": ticket.pk,
        "display_code": ticket.display_code,
        "printed_code": printed_code,
        "service": ticket.service.name,
        "status": ticket.status,
        "position": position,
        "estimated_wait_minutes": estimate,
        "desk": ticket.desk.name if at_desk and ticket.desk is not None else None,
        "called_at": ticket.called_at.isoformat() if at_desk and ticket.called_at else None,
        "recall_count": ticket.recall_count,
        "ended": ticket.status not in OPEN_STATUSES,
    }
