"""Reads of check-ins. A queued check-in's position and estimated wait come from
`queueing.selectors.queue.ticket_position_and_estimate`, as in the queue view."""

import datetime
import uuid

from django.db import connection

from queueing.models import CheckIn


def checkin_get(*, checkin_id: uuid.UUID | str) -> CheckIn | None:
    return CheckIn.objects.select_related("ticket__service").filter(pk=checkin_id).first()


# The public index of pending check-ins (migration 0004_checkin_pending_index keeps it).
CHECKIN_PENDING_INDEX = "public.queueing_checkin_pending"
# Republishing waits `older_than` after the last publish, doubling with each publish up to this
# factor, so a long worker outage does not flood the queue with copies.
REPUBLISH_BACKOFF_MAX_FACTOR = 16

_CHECKINS_DUE_SQL = f"""
    SELECT schema_name, checkin_id FROM {CHECKIN_PENDING_INDEX}
    WHERE created_at <= %(now)s - %(older_s)s * interval '1 second'
      AND coalesce(last_published_at, created_at) <= %(now)s - %(older_s)s * interval '1 second'
          * least(power(2, greatest(publish_count - 1, 0)), {REPUBLISH_BACKOFF_MAX_FACTOR})
    ORDER BY created_at
    LIMIT %(limit)s
"""


def checkins_due_for_republish(
    *, older_than: datetime.timedelta, now: datetime.datetime, limit: int = 1000
) -> dict[str, list[uuid.UUID]]:
    """Pending check-ins of every clinic due for a republish, {schema: ids}: one query.

    Due `older_than` after creation and after the last publish, the wait doubling with each
    publish up to REPUBLISH_BACKOFF_MAX_FACTOR times; the oldest first, at most `limit`.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _CHECKINS_DUE_SQL, {"now": now, "older_s": older_than.total_seconds(), "limit": limit}
        )
        rows = cursor.fetchall()
    due: dict[str, list[uuid.UUID]] = {}
    for schema_name, checkin_id in rows:
        due.setdefault(schema_name, []).append(uuid.UUID(str(checkin_id)))
    return due
