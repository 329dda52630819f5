"""Celery tasks of webhooks: a clinic's deliveries (the webhooks queue) and the sweeper."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from common.tenancy import tenant_connection
from integrations.services import WEBHOOKS_RUN_TASK, webhooks_run, webhooks_sweep

logger = logging.getLogger(__name__)


@shared_task(
    name=WEBHOOKS_RUN_TASK,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=False,
    max_retries=6,
)
def webhooks_run_task() -> dict | None:
    """Deliver the webhooks due in the clinic named by the message's `_schema_name` header."""
    if tenant_connection.schema_name == "public":
        logger.error("The webhook task was published without a clinic schema; ignored.")
        return None
    return webhooks_run()


@shared_task(name="integrations.webhooks_sweep_task")
def webhooks_sweep_task() -> int:
    """Publish the webhook task of each clinic with work due (one public query)."""
    return webhooks_sweep()
