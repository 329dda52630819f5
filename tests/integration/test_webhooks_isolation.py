"""Receivers that trickle their answer do not hold ticket issuing, nor a database transaction.

Real processes: a worker on the platform and shard queues (tickets), a worker on the webhooks
queue, the listener; receivers on 127.0.0.1 that send one byte of their answer every 2 s.
"""

import time

import pytest
from django.db import connection

from integrations.models import WebhookSubscription
from integrations.schedule.models import WebhookSchedule
from integrations.services import webhook_subscription_create, webhook_subscription_delete
from queueing.models import CheckIn, CheckInStatus
from queueing.services.checkins import checkin_create
from tests.integration.conftest import all_queue_names
from tests.integrations.conftest import REGISTRATION
from tests.integrations.receiver import RawServer, trickling

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CPFS = ["52998224725", "11144477735", "39053344705", "15350946056", "86288366757"]
SLOW = {"CLINICO_WEBHOOK_TIMEOUT_SECONDS": "30"}


@pytest.fixture(scope="module")
def stack(broker, start_worker, webhook_listener):
    broker.purge(all_queue_names())
    queues = [q for q in all_queue_names() if q != "webhooks"]
    start_worker("tickets", queues=queues, env=SLOW)
    start_worker("webhooks-only", queues=["webhooks"], env=SLOW)


@pytest.fixture
def tricklers(clinic_a):
    with clinic_a:
        WebhookSubscription.objects.all().delete()
    WebhookSchedule.objects.all().delete()
    servers = [RawServer(trickling(every=2.0)).start() for _ in range(6)]
    with clinic_a:
        for server in servers:
            webhook_subscription_create(url=server.url, kinds=["checkin.queued", "day.closed"])
    yield servers
    for server in servers:
        server.stop()
    with clinic_a:
        for subscription in WebhookSubscription.objects.all():
            webhook_subscription_delete(subscription=subscription)


def _wait(condition, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.1)
    return result


def _sends_in_flight(servers) -> int:
    return sum(server.open for server in servers)


def test_trickling_receivers_do_not_delay_check_ins(stack, clinic_a, tricklers):
    from events.services import event_record

    with clinic_a:
        event_record(kind="day.closed", data={"service_day": "2026-11-29"})
    _wait(lambda: _sends_in_flight(tricklers) >= 4, timeout=30, what="4 trickling sends")

    started = time.monotonic()
    with clinic_a:
        ids = [checkin_create(cpf=cpf, registration=REGISTRATION)[0].pk for cpf in CPFS]

    def all_queued():
        with clinic_a:
            return CheckIn.objects.filter(pk__in=ids, status=CheckInStatus.QUEUED).count() == 5

    _wait(all_queued, timeout=20, what="5 check-ins queued while receivers trickle")
    took = time.monotonic() - started

    assert _sends_in_flight(tricklers) >= 4  # still trickling meanwhile
    assert took < 10


def test_no_database_transaction_is_open_while_a_send_waits(stack, clinic_a, tricklers):
    from events.services import event_record

    with clinic_a:
        event_record(kind="day.closed", data={"service_day": "2026-11-30"})
    _wait(lambda: _sends_in_flight(tricklers) >= 4, timeout=30, what="4 trickling sends")
    samples = []
    for _ in range(10):  # over 2 s of sends waiting on their receivers
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
            )
            samples.append(cursor.fetchone()[0])
        time.sleep(0.2)

    assert _sends_in_flight(tricklers) >= 4
    assert samples == [0] * 10
