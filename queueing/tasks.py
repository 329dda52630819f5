"""Celery tasks of queueing. They run in a clinic's schema (tenant-schemas-celery's TenantTask)."""

import logging

from celery import shared_task
from django.db import connection

from queueing.services.checkins import checkin_process

logger = logging.getLogger(__name__)


@shared_task(name="queueing.checkin_process_task")
def checkin_process_task(checkin_id: str) -> str | None:
    """Process one check-in of the clinic named by the message's `_schema_name` header."""
    if connection.schema_name == "public":
        logger.error("Check-in %s was published without a clinic schema; ignored.", checkin_id)
        return None
    checkin = checkin_process(checkin_id=checkin_id)
    return checkin.status if checkin is not None else None
