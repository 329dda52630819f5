"""Celery tasks of queueing. They run in a clinic's schema (tenant-schemas-celery's TenantTask)."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError, connection

from queueing.services.checkins import CHECKIN_PROCESS_TASK, checkin_process

logger = logging.getLogger(__name__)


@shared_task(
    name=CHECKIN_PROCESS_TASK,
    # A dropped or restarting database: try again shortly rather than wait for the sweeper.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=False,
    max_retries=6,
)
def checkin_process_task(checkin_id: str) -> str | None:
    """Process one check-in of the clinic named by the message's `_schema_name` header.

    Idempotent, so a redelivery or a retry after a database error is harmless; a check-in
    still pending after the retries is republished by the sweeper.
    """
    if connection.schema_name == "public":
        logger.error("Check-in %s was published without a clinic schema; ignored.", checkin_id)
        return None
    checkin = checkin_process(checkin_id=checkin_id)
    return checkin.status if checkin is not None else None
