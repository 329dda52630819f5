"""Writes to the clinic's event stream, and its retention purge."""

import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from events.models import EVENTS_CHANNEL, FIGURES_REFRESHED, Event


def event_record(
    *,
    kind: str,
    at: datetime.datetime | None = None,
    ticket_id: int | None = None,
    service_id: int | None = None,
    desk_id: int | None = None,
    data: dict[str, Any],
) -> int:
    """Append one event to the current clinic's stream in the caller's transaction; its id.

    One INSERT. Its triggers hold the clinic's index row until commit and notify the
    `clinico_events` channel, which PostgreSQL delivers only if the transaction commits.
    `data` must hold no CPF and no person's name.
    """
    event = Event.objects.create(
        kind=kind,
        at=at or timezone.now(),
        ticket_id=ticket_id,
        service_id=service_id,
        desk_id=desk_id,
        data=data,
    )
    return event.pk


def events_purge(*, before: datetime.datetime) -> int:
    """Delete the current clinic's events older than `before` (the retention period); how many."""
    deleted, _ = Event.objects.filter(at__lt=before).delete()
    return deleted


def figures_refreshed_notify(*, schema_name: str) -> None:
    """Tell the streams that `schema_name`'s public live figures changed (sent on commit)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_notify(%s, %s)", [EVENTS_CHANNEL, f"{schema_name} {FIGURES_REFRESHED}"]
        )
