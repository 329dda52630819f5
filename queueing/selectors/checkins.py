"""Reads of check-ins. A queued check-in's position and estimated wait come from
`queueing.selectors.queue.ticket_position_and_estimate`, as in the queue view."""

import datetime
import uuid
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from queueing.models import CheckIn


def checkin_get(
    *, checkin_id: uuid.UUID | str, partner_client_id: str | None = None
) -> CheckIn | None:
    """The check-in with its ticket; with `partner_client_id`, only if that partner made it."""
    checkins = CheckIn.objects.select_related("ticket__service").filter(pk=checkin_id)
    if partner_client_id is not None:
        checkins = checkins.filter(partner_client_id=partner_client_id)
    return checkins.first()


# The public index of pending check-ins (migration 0006_checkin_pending_index keeps it).
CHECKIN_PENDING_INDEX = "public.queueing_checkin_pending"
# Republishing waits `older_than` after the last publish, doubling with each publish up to this
# factor, so a long worker outage does not flood the queue with copies.
REPUBLISH_BACKOFF_MAX_FACTOR = 16

_CHECKINS_DUE_SQL = f"""
    SELECT schema_name, checkin_id FROM {CHECKIN_PENDING_INDEX}
    WHERE schema_name IN ({{schemas}})
      AND created_at <= %s - %s * interval '1 second'
      AND coalesce(last_published_at, created_at) <= %s - %s * interval '1 second'
          * least(power(2, greatest(publish_count - 1, 0)), {REPUBLISH_BACKOFF_MAX_FACTOR})
    ORDER BY created_at
    LIMIT %s
"""


def checkins_due_for_republish(
    *,
    among: QuerySet[Any, str],
    older_than: datetime.timedelta,
    now: datetime.datetime,
    limit: int = 1000,
) -> dict[str, list[uuid.UUID]]:
    """Pending check-ins due for a republish in the schemas `among` names, {schema: ids}.

    One query at any clinic count: `among` (a query of schema names, such as the active
    clinics') is its subquery. Due `older_than` after creation and after the last publish, the
    wait doubling with each publish up to REPUBLISH_BACKOFF_MAX_FACTOR times; the oldest first,
    at most `limit`.
    """
    schemas_sql, schemas_params = among.query.sql_with_params()
    older_s = older_than.total_seconds()
    with connection.cursor() as cursor:
        cursor.execute(
            _CHECKINS_DUE_SQL.format(schemas=schemas_sql),
            [*schemas_params, now, older_s, now, older_s, limit],
        )
        rows = cursor.fetchall()
    due: dict[str, list[uuid.UUID]] = {}
    for schema_name, checkin_id in rows:
        due.setdefault(schema_name, []).append(uuid.UUID(str(checkin_id)))
    return due
