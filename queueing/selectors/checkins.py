"""Reads of check-ins. A queued check-in's position and estimated wait come from
`queueing.selectors.queue.ticket_position_and_estimate`, as in the queue view."""

import uuid

from queueing.models import CheckIn


def checkin_get(*, checkin_id: uuid.UUID | str) -> CheckIn | None:
    return CheckIn.objects.select_related("ticket__service").filter(pk=checkin_id).first()
