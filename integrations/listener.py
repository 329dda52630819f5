"""Deliveries start when their events commit: LISTEN on the stream's channel, publish tasks.

PostgreSQL sends the stream's notification ("<schema> <newest id>") only when the writing
transaction commits (events/migrations/0002). This process listens on one connection and
publishes the webhook task of each notified clinic that has active subscriptions, a burst of
notifications of one clinic collapsing into one task. Whatever it misses (it was down, the
broker was) the sweeper finds through the public index.
"""

import logging
import select
import time
from collections.abc import Callable

import psycopg2
from django.db import connection

from common.tenancy import tenant_connection
from events.models import EVENTS_CHANNEL
from integrations.schedule.models import WebhookSchedule
from integrations.services import webhooks_kick, webhooks_queued_mark, webhooks_queued_unmark

logger = logging.getLogger(__name__)

# Notifications of one clinic within this long become one task.
COLLECT_SECONDS = 0.02
# Which clinics have active subscriptions is read again this often (a new subscription's
# events in the meantime are found by the sweeper).
CLINICS_REFRESH_SECONDS = 5.0
# …and at most this often when a clinic not known to have webhooks has events.
UNKNOWN_REFRESH_SECONDS = 0.5


def _listening_connection():
    """A connection listening on the stream's channel, retried while the database is away."""
    params = connection.get_connection_params()
    while True:
        try:
            listener = psycopg2.connect(**params)
        except psycopg2.OperationalError as error:
            logger.warning("Database unreachable (%s); retrying in 2 s.", error)
            time.sleep(2.0)
            continue
        listener.autocommit = True
        listener.cursor().execute(f"LISTEN {EVENTS_CHANNEL}")
        return listener


def _clinics_with_webhooks() -> dict:
    tenant_connection.set_schema_to_public()
    rows = WebhookSchedule.objects.filter(clinic__is_active=True).select_related("clinic")
    return {row.clinic.schema_name: row.clinic for row in rows}


def webhooks_listen(*, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Publish clinics' webhook tasks as their events commit, until `should_stop()`."""
    listener = _listening_connection()
    clinics = _clinics_with_webhooks()
    refreshed = time.monotonic()
    logger.info("Listening on %s for %d clinics with webhooks.", EVENTS_CHANNEL, len(clinics))
    while not should_stop():
        try:
            readable, _, _ = select.select([listener], [], [], 1.0)
            if not readable:
                continue
            time.sleep(COLLECT_SECONDS)
            listener.poll()
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
            logger.warning("Listening connection lost (%s); reconnecting.", error)
            time.sleep(1.0)
            listener = _listening_connection()
            continue
        schemas = {note.payload.split(" ", 1)[0] for note in listener.notifies}
        listener.notifies.clear()
        since = time.monotonic() - refreshed
        unknown = not schemas <= clinics.keys()
        # A clinic that just got its first subscription is learnt of at its first events.
        if since > CLINICS_REFRESH_SECONDS or (unknown and since > UNKNOWN_REFRESH_SECONDS):
            clinics = _clinics_with_webhooks()
            refreshed = time.monotonic()
        known = [clinics[schema] for schema in schemas if schema in clinics]
        if not known:
            continue
        # A clinic whose task is queued and not started yet gets no other: that one reads
        # every event committed before it starts.
        unmarked = webhooks_queued_mark(schemas=[clinic.schema_name for clinic in known])
        for clinic in known:
            if clinic.schema_name not in unmarked:
                continue
            with clinic:  # the task's schema header and queue; no query
                published = webhooks_kick()
            if not published:  # the broker is down: the sweeper will publish it
                webhooks_queued_unmark(schema=clinic.schema_name)
        tenant_connection.set_schema_to_public()
    listener.close()
