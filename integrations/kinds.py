"""The event kinds a webhook can subscribe to, and how the event stream's kinds map onto them."""

CHECKIN_KINDS = ["checkin.queued", "checkin.failed"]
TICKET_KINDS = [
    "ticket.called",
    "ticket.recalled",
    "ticket.started",
    "ticket.finished",
    "ticket.no_show",
    "ticket.cancelled",
    "ticket.transferred",
]
APPOINTMENTS = "appointment.*"
DAY_CLOSED = "day.closed"
SUBSCRIBABLE_KINDS = [*CHECKIN_KINDS, *TICKET_KINDS, APPOINTMENTS, DAY_CLOSED]

# The stream names a queueing TicketEvent `ticket.<its kind>` (ticket.call); webhooks name what
# happened (ticket.called). Kinds of the stream with no webhook (ticket.issue …) are not sent.
_TICKET_STREAM = {
    "ticket.call": "ticket.called",
    "ticket.recall": "ticket.recalled",
    "ticket.start": "ticket.started",
    "ticket.finish": "ticket.finished",
    "ticket.cancel": "ticket.cancelled",
    "ticket.transfer": "ticket.transferred",
}


def webhook_kind(stream_kind: str) -> str | None:
    """The webhook kind of an event of the stream, or None when no webhook carries it."""
    kind = _TICKET_STREAM.get(stream_kind, stream_kind)
    if kind in SUBSCRIBABLE_KINDS or kind.startswith("appointment."):
        return kind
    return None


def kind_wanted(*, kind: str, subscribed: list[str]) -> bool:
    """Whether a subscription to `subscribed` wants webhook kind `kind`."""
    if kind.startswith("appointment."):
        return APPOINTMENTS in subscribed
    return kind in subscribed
