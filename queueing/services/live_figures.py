"""Tell the chain summary that the current clinic's figures changed (debounced, after commit).

The chain dashboard reads each clinic's today from a public summary row, never from the clinic's
schema. Every change of a ticket or a desk calls `live_figures_changed()`: after commit it
publishes the refresh task for the clinic at most once per DEBOUNCE_SECONDS per process (a cache
key, no database write), delayed by that window so that the task reads every change made in it.
The hot path pays no statement and takes no lock: the refresh runs in a worker, one clinic at a
time, and a clinic's desks never wait on each other for it.

A publish lost while the broker is unreachable is made good by the next change, or by the
periodic catch-up (`tenants.live_figures`), which finds with one public query the clinics whose
event stream (its public activity row) moved past the event their summary was read after.
"""

import logging

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from common.tenancy import tenant_connection

logger = logging.getLogger(__name__)

# The task is named, not imported: it lives in tenants, a floor above queueing.
LIVE_FIGURES_REFRESH_TASK = "tenants.clinic_live_figures_refresh_task"
DEBOUNCE_SECONDS = 2.0
_PENDING_KEY = "live-figures-refresh-pending"


def _publish() -> None:
    # The cache key is per clinic (django_tenants.cache.make_key prefixes the schema).
    if not cache.add(_PENDING_KEY, 1, timeout=DEBOUNCE_SECONDS):
        return
    try:
        current_app.send_task(LIVE_FIGURES_REFRESH_TASK, countdown=DEBOUNCE_SECONDS)
    except Exception as error:  # noqa: BLE001 - any broker failure; the catch-up covers it
        cache.delete(_PENDING_KEY)
        logger.warning(
            "Live figures of %s left to the catch-up: publish failed (%s).",
            tenant_connection.schema_name,
            type(error).__name__,
        )


def live_figures_changed() -> None:
    """After this transaction commits, have the clinic's chain summary refreshed soon."""
    if not settings.CLINICO_LIVE_FIGURES_PUBLISH:
        return
    if tenant_connection.schema_name in (None, "public"):
        return
    transaction.on_commit(_publish)
