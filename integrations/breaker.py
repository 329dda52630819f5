"""The circuit breaker of each webhook subscription: a failing receiver gets less of the pool.

Closed: deliveries go out, at most CLINICO_WEBHOOK_IN_FLIGHT_PER_SUBSCRIPTION at once, one while
the last send failed. After CLINICO_WEBHOOK_BREAKER_FAILURES failed sends in a row it opens: no
request for CLINICO_WEBHOOK_BREAKER_OPEN_SECONDS. Then it is half-open: one delivery is sent
(the period starts again meanwhile, so it is the only one); delivered closes the breaker,
failed opens it again. The retry schedule and window of each delivery go on as before: the
breaker only decides when a subscription may take the senders' time.
"""

import datetime

from django.conf import settings

from integrations.models import WebhookSubscription


def _open_period() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.CLINICO_WEBHOOK_BREAKER_OPEN_SECONDS)


def breaker_in_flight_cap(*, failures_in_row: int) -> int:
    """How many of a subscription's deliveries may be in flight at once."""
    return 1 if failures_in_row else settings.CLINICO_WEBHOOK_IN_FLIGHT_PER_SUBSCRIPTION


def breaker_probes_start(
    *, subscriptions: list[WebhookSubscription], now: datetime.datetime
) -> None:
    """Claimed deliveries of half-open subscriptions are their one try: the breaker holds the
    others back for another period meanwhile (in the claim's transaction)."""
    half_open = {
        s.pk
        for s in subscriptions
        if s.failures_in_row >= settings.CLINICO_WEBHOOK_BREAKER_FAILURES
    }
    if half_open:
        WebhookSubscription.objects.filter(pk__in=half_open).update(
            breaker_open_until=now + _open_period()
        )


def breaker_record(*, subscription_id: int, delivered: bool, now: datetime.datetime) -> None:
    """A send's outcome (in the recording transaction): closes, counts or opens the breaker."""
    subscription = (
        WebhookSubscription.objects.select_for_update()
        .only("failures_in_row", "breaker_open_until")
        .filter(pk=subscription_id)
        .first()
    )
    if subscription is None:
        return
    if delivered:
        subscription.failures_in_row = 0
        subscription.breaker_open_until = None
    else:
        subscription.failures_in_row += 1
        if subscription.failures_in_row >= settings.CLINICO_WEBHOOK_BREAKER_FAILURES:
            subscription.breaker_open_until = now + _open_period()
    subscription.save(update_fields=["failures_in_row", "breaker_open_until"])
