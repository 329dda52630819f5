"""Reads of the event stream: a clinic's events after a cursor, the clinics with new events."""

import datetime
from collections.abc import Iterable

from django.db.models import Max

from events.activity.models import ClinicActivity
from events.models import Event

# An index row's `last_at` is stamped before its transaction commits: a caller asking for the
# clinics with events since its previous look also gets those stamped this long before it, and
# keeps its own cursor per clinic (an event id) to skip what it has already seen.
ACTIVITY_COMMIT_MARGIN = datetime.timedelta(seconds=10)


def event_list_after(
    *,
    after_id: int,
    limit: int = 100,
    kinds: Iterable[str] | None = None,
    ticket_id: int | None = None,
) -> list[Event]:
    """The current clinic's events with an id above `after_id`, oldest first, at most `limit`.

    Ids grow in commit order within a clinic: reading again after the last id returned never
    skips an event that committed in between.
    """
    events = Event.objects.filter(id__gt=after_id)
    if kinds is not None:
        events = events.filter(kind__in=list(kinds))
    if ticket_id is not None:
        events = events.filter(ticket_id=ticket_id)
    return list(events.order_by("id")[:limit])


def event_last_id() -> int:
    """The id of the current clinic's newest event, 0 when it has none (a new stream's start)."""
    return Event.objects.aggregate(newest=Max("id"))["newest"] or 0


def clinics_with_events_since(*, since: datetime.datetime) -> list[ClinicActivity]:
    """The clinics (schema, newest event id and time) with events stamped since `since`.

    One query on the public index, whatever the number of clinics; it includes the clinics
    stamped up to ACTIVITY_COMMIT_MARGIN before `since`, whose transactions may have committed
    after the caller's previous look. Run it in any schema: the table is in public.
    """
    return list(
        ClinicActivity.objects.filter(last_at__gte=since - ACTIVITY_COMMIT_MARGIN).order_by(
            "last_at"
        )
    )
