"""STAND-IN for the events outbox's reader (the preamble's contract)."""

from events.models import Event


def event_list_after(*, after_id: int, limit: int, kinds=None) -> list[Event]:
    """Events of the current clinic after `after_id`, oldest first."""
    events = Event.objects.filter(id__gt=after_id)
    if kinds:
        events = events.filter(kind__in=kinds)
    return list(events.order_by("id")[:limit])
