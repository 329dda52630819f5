"""STAND-IN for the events outbox's writer (the preamble's contract)."""

import django.dispatch
from django.utils import timezone

from events.models import Event

event_recorded = django.dispatch.Signal()  # sent inside the writer's transaction: event=Event


def event_record(
    *, kind: str, at=None, ticket_id=None, service_id=None, desk_id=None, data: dict
) -> int:
    """Write one event in the caller's transaction; its id."""
    event = Event.objects.create(
        kind=kind,
        at=at or timezone.now(),
        ticket_id=ticket_id,
        service_id=service_id,
        desk_id=desk_id,
        data=data,
    )
    event_recorded.send(sender=Event, event=event)
    return event.pk
