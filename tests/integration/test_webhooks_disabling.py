"""A receiver that fails through the whole retry window: the subscription is disabled.

The window is compressed to 3 s through the worker's settings; the schedule runs for real.
"""

import time

import pytest

from integrations.models import WebhookDelivery, WebhookNotice, WebhookSubscription
from integrations.services import webhook_subscription_create
from tests.integration.conftest import all_queue_names
from tests.integrations.receiver import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WINDOW_SECONDS = 3.0
SHORT_WINDOW = {
    "CLINICO_WEBHOOK_RETRY_FIRST_SECONDS": "0.2",
    "CLINICO_WEBHOOK_RETRY_MAX_SECONDS": "0.5",
    "CLINICO_WEBHOOK_RETRY_WINDOW_SECONDS": str(WINDOW_SECONDS),
    "CLINICO_WEBHOOK_SHORT_WINDOW_ALLOWED": "1",
    "CLINICO_WEBHOOK_BREAKER_OPEN_SECONDS": "0.5",
}


def test_a_receiver_failing_for_the_whole_window_is_disabled_and_the_log_says_why(
    broker, start_worker, webhook_listener, clinic_a
):
    broker.purge(all_queue_names())
    start_worker("webhooks-short-window", env=SHORT_WINDOW)
    receiver = Receiver().start()
    receiver.status = 500
    try:
        with clinic_a:
            WebhookSubscription.objects.all().delete()
            subscription, _ = webhook_subscription_create(url=receiver.url, kinds=["day.closed"])
            from events.services import event_record

            event_record(kind="day.closed", data={"service_day": "2026-11-29"})
        deadline = time.monotonic() + 60
        while True:
            with clinic_a:
                subscription.refresh_from_db()
            if not subscription.is_active or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        with clinic_a:
            delivery = WebhookDelivery.objects.get(subscription=subscription)
            log = list(delivery.log.all())
            notices = list(WebhookNotice.objects.filter(subscription=subscription))
    finally:
        receiver.stop()

    assert not subscription.is_active
    assert delivery.status == "failed"
    assert receiver.refused == delivery.attempts == len(log) >= 4
    assert {entry.status_code for entry in log} == {500}
    assert (log[-1].at - log[0].at).total_seconds() >= WINDOW_SECONDS - 1
    assert "http 500" in delivery.last_error
    assert [n.kind for n in notices] == ["disabled"]
    assert "http 500" in notices[0].message == subscription.disabled_reason
