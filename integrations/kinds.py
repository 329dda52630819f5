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


def webhook_kind(stream_kind: str) -> str | None:
    """The webhook kind of an event of the stream, or None when no webhook carries it.

    The stream's names are the webhooks' (docs/events.md); ticket.issued, ticket.returned and
    ticket.expired have no webhook (a check-in's ticket arrives as checkin.queued).
    """
    if stream_kind in SUBSCRIBABLE_KINDS or stream_kind.startswith("appointment."):
        return stream_kind
    return None


def kind_wanted(*, kind: str, subscribed: list[str]) -> bool:
    """Whether a subscription to `subscribed` wants webhook kind `kind`."""
    if kind.startswith("appointment."):
        return APPOINTMENTS in subscribed
    return kind in subscribed
