"""Webhooks end to end: real queue work, the listener, a Celery worker, a local receiver.

The retry schedule is compressed through the worker's settings (first retry after 0.2 s, at
most 1 s apart), not faked: the code paths are those of production.
"""

import time

import pytest

import integrations.services as webhook_services
from integrations.kinds import SUBSCRIBABLE_KINDS
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from integrations.schedule.models import WebhookSchedule
from integrations.services import webhook_subscription_create, webhooks_sweep
from queueing.services import workflow
from tests.integration.conftest import all_queue_names
from tests.integrations.conftest import every_kind_happens
from tests.integrations.receiver import Receiver
from tests.queueing import factories as f

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RETRIES = {
    "CLINICO_WEBHOOK_RETRY_FIRST_SECONDS": "0.2",
    "CLINICO_WEBHOOK_RETRY_MAX_SECONDS": "1",
    "CLINICO_WEBHOOK_RETRY_WINDOW_SECONDS": "120",
    "CLINICO_WEBHOOK_SHORT_WINDOW_ALLOWED": "1",
    "CLINICO_WEBHOOK_BREAKER_OPEN_SECONDS": "0.5",
}


@pytest.fixture(scope="module")
def stack(broker, start_worker, webhook_listener):
    broker.purge(all_queue_names())
    return start_worker("webhooks", env=RETRIES)


@pytest.fixture(autouse=True)
def no_subscriptions(clinic_a, clinic_b):
    """Each test subscribes afresh (clinic schemas outlive a transactional test's flush)."""
    webhook_services._broker_down_until = 0.0
    for clinic in (clinic_a, clinic_b):
        with clinic:
            WebhookSubscription.objects.all().delete()
    WebhookSchedule.objects.all().delete()


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def _wait(condition, *, timeout: float = 60, what: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.1)


def _all_delivered(clinic) -> int:
    """How many deliveries the clinic has, once none is pending (else 0)."""
    with clinic:
        statuses = list(WebhookDelivery.objects.values_list("status", flat=True))
    pending = statuses.count(DeliveryStatus.PENDING)
    return len(statuses) if statuses and not pending else 0


def _in_order_per_ticket(payloads: list[dict]) -> bool:
    seen: dict = {}
    for payload in payloads:
        seen.setdefault(payload["data"]["ticket_id"], []).append(payload["sequence"])
    return all(sequences == sorted(sequences) for sequences in seen.values())


def _first_arrivals(receiver: Receiver) -> list[dict]:
    """What the receiver keeps after deduplicating by event id, in arrival order."""
    kept: dict = {}
    for payload in receiver.payloads():
        kept.setdefault(payload["id"], payload)
    return list(kept.values())


def _three_visits(clinic) -> None:
    with clinic:
        reception = f.reception()
        desk = f.desk(f"Guichê {time.monotonic_ns()}", reception)
        tickets = [f.waiting(reception) for _ in range(3)]
        for ticket in tickets:
            workflow.ticket_call_next(desk_id=desk.pk)
            workflow.ticket_start(ticket_id=ticket.pk)
            workflow.ticket_finish(ticket_id=ticket.pk)


def test_every_event_kind_arrives_signed_and_verifiable(stack, clinic_a, receiver):
    with clinic_a:
        _subscription, secret = webhook_subscription_create(
            url=receiver.url, kinds=SUBSCRIBABLE_KINDS
        )
        kinds = every_kind_happens()

    count = _wait(lambda: _all_delivered(clinic_a) >= 12, what="12 deliveries")
    received = receiver.wait_for(count)

    assert {r.payload["type"] for r in received} == set(kinds)
    assert all(r.verified_with(secret) for r in received)
    assert _in_order_per_ticket([r.payload for r in received])


def test_a_receiver_down_then_back_gets_every_event_once_in_order_per_ticket(
    stack, clinic_a, receiver
):
    with clinic_a:
        webhook_subscription_create(url=receiver.url, kinds=SUBSCRIBABLE_KINDS)
    receiver.stop()
    _three_visits(clinic_a)

    def failed_attempts() -> int:
        with clinic_a:
            return WebhookDelivery.objects.filter(attempts__gte=2, status="pending").count()

    _wait(failed_attempts, what="deliveries retried while the receiver is down")
    receiver.start()
    count = _wait(lambda: _all_delivered(clinic_a) >= 9, what="all delivered after the receiver")
    count = _all_delivered(clinic_a)
    kept = _first_arrivals(receiver)

    assert count == len(kept) == 9  # called, started, finished × 3
    assert _in_order_per_ticket(kept)


def test_events_while_rabbitmq_is_stopped_are_all_delivered_after_it_returns(
    stack, broker, clinic_a, receiver
):
    with clinic_a:
        webhook_subscription_create(url=receiver.url, kinds=SUBSCRIBABLE_KINDS)
    broker.stop()
    try:
        _three_visits(clinic_a)
        time.sleep(1)  # the listener's publishes fail meanwhile
        delivered_during_outage = len(receiver.received)
    finally:
        broker.start()
    # The sweeper (beat's task) finds the clinic through the public index.
    _wait(webhooks_sweep, timeout=30, what="the sweeper publishing the clinic's task")
    _wait(lambda: _all_delivered(clinic_a) >= 9, what="all delivered after the outage")
    count = _all_delivered(clinic_a)
    kept = _first_arrivals(receiver)

    assert delivered_during_outage == 0
    assert count == len(kept) == 9
    assert _in_order_per_ticket(kept)


def test_a_clinic_s_subscription_never_receives_another_clinic_s_events(stack, clinic_a, clinic_b):
    at_a, at_b = Receiver().start(), Receiver().start()
    try:
        with clinic_a:
            webhook_subscription_create(url=at_a.url, kinds=SUBSCRIBABLE_KINDS)
        with clinic_b:
            webhook_subscription_create(url=at_b.url, kinds=SUBSCRIBABLE_KINDS)
        _three_visits(clinic_a)
        _three_visits(clinic_b)
        _wait(
            lambda: _all_delivered(clinic_a) == _all_delivered(clinic_b) == 9,
            what="9 events delivered in each clinic",
        )
        from_a, from_b = _first_arrivals(at_a), _first_arrivals(at_b)
    finally:
        at_a.stop()
        at_b.stop()

    assert len(from_a) == len(from_b) == 9
    assert {p["clinic"] for p in from_a} == {"clinic_a"}
    assert {p["clinic"] for p in from_b} == {"clinic_b"}
