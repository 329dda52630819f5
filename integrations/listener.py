"""Deliveries start when their events commit: LISTEN on the stream's channel, publish tasks.

PostgreSQL sends the stream's notification ("<schema> <newest id>") only when the writing
transaction commits (events/migrations/0002). This process listens on one connection and
publishes the webhook task of each notified clinic that has active subscriptions, a burst of
notifications of one clinic collapsing into one task. Whatever it misses (it was down, the
broker was) the sweeper finds through the public index.

The process runs for days: its LISTEN connection and its ORM connection both survive a
database restart (common/reconnect.py). Notifications sent while no connection listened are
lost, so once it listens again it publishes, as the sweeper would, the task of every clinic
with events past its cursor (one public query), instead of leaving them to the sweeper's next
round.
"""

import logging
import select
import time
from collections.abc import Callable
from functools import partial

import psycopg2
from django.db import connection

from common.reconnect import ListenConnection, database_retry, listen_connect
from common.tenancy import tenant_connection
from events.models import EVENTS_CHANNEL
from integrations.schedule.models import WebhookSchedule
from integrations.services import (
    webhooks_kick,
    webhooks_queued_mark,
    webhooks_queued_unmark,
    webhooks_sweep,
)

logger = logging.getLogger(__name__)

# Notifications of one clinic within this long become one task.
COLLECT_SECONDS = 0.02
# Which clinics have active subscriptions is read again this often (a new subscription's
# events in the meantime are found by the sweeper).
CLINICS_REFRESH_SECONDS = 5.0
# …and at most this often when a clinic not known to have webhooks has events.
UNKNOWN_REFRESH_SECONDS = 0.5


def _listening_connection(should_stop: Callable[[], bool]) -> ListenConnection | None:
    """A connection listening on the stream's channel, retried while the database is away."""
    return listen_connect(
        params=connection.get_connection_params(),
        channel=EVENTS_CHANNEL,
        what="Webhook listener",
        should_stop=should_stop,
    )


def _clinics_with_webhooks() -> dict:
    tenant_connection.set_schema_to_public()
    rows = WebhookSchedule.objects.filter(clinic__is_active=True).select_related("clinic")
    return {row.clinic.schema_name: row.clinic for row in rows}


def _kick(schemas: set[str], clinics: dict) -> None:
    """Publish the webhook task of each clinic of `schemas` with webhooks and none queued."""
    known = [clinics[schema] for schema in schemas if schema in clinics]
    if not known:
        return
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


def webhooks_listen(*, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Publish clinics' webhook tasks as their events commit, until `should_stop()`."""
    listener = _listening_connection(should_stop)
    if listener is None:
        return
    what = "Webhook listener"
    clinics = database_retry(_clinics_with_webhooks, what=what, should_stop=should_stop)
    refreshed = time.monotonic()
    logger.info("Listening on %s for %d clinics with webhooks.", EVENTS_CHANNEL, len(clinics))
    while not should_stop():
        try:
            readable, _, _ = select.select([listener], [], [], 1.0)
            if not readable:
                continue
            time.sleep(COLLECT_SECONDS)
            notes = listener.notifications()
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
            logger.warning("Listening connection lost (%s); reconnecting.", error)
            listener.close()
            listener = _listening_connection(should_stop)
            if listener is None:
                return
            published = database_retry(webhooks_sweep, what=what, should_stop=should_stop)
            logger.info(
                "Listening on %s again; %d clinics' tasks published for what came meanwhile.",
                EVENTS_CHANNEL,
                published,
            )
            continue
        schemas = {note.payload.split(" ", 1)[0] for note in notes}
        since = time.monotonic() - refreshed
        unknown = not schemas <= clinics.keys()
        # A clinic that just got its first subscription is learnt of at its first events.
        if since > CLINICS_REFRESH_SECONDS or (unknown and since > UNKNOWN_REFRESH_SECONDS):
            clinics = database_retry(_clinics_with_webhooks, what=what, should_stop=should_stop)
            refreshed = time.monotonic()
        database_retry(partial(_kick, schemas, clinics), what=what, should_stop=should_stop)
    listener.close()
