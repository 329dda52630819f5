"""Reads of webhooks: a caller's subscriptions and a subscription's delivery log."""

from django.db.models import Prefetch, QuerySet

from integrations.models import WebhookDelivery, WebhookNotice, WebhookSubscription

NOTICES_SHOWN = 10


def webhook_subscriptions_of(*, partner_client_id: str | None) -> QuerySet[WebhookSubscription]:
    """The clinic's subscriptions a caller sees: a partner its own (by client id); None: all."""
    subscriptions = WebhookSubscription.objects.prefetch_related(
        Prefetch("notices", queryset=WebhookNotice.objects.order_by("-at", "-id"))
    ).order_by("id")
    if partner_client_id is not None:
        subscriptions = subscriptions.filter(partner_client_id=partner_client_id)
    return subscriptions


def webhook_subscription_get(
    *, subscription_id: int, partner_client_id: str | None
) -> WebhookSubscription | None:
    return (
        webhook_subscriptions_of(partner_client_id=partner_client_id)
        .filter(pk=subscription_id)
        .first()
    )


def webhook_delivery_list(
    *, subscription: WebhookSubscription, status: str | None = None, limit: int = 100
) -> list[WebhookDelivery]:
    """The subscription's latest deliveries with their attempts, newest event first."""
    deliveries = subscription.deliveries.prefetch_related("log").order_by("-event_id")
    if status:
        deliveries = deliveries.filter(status=status)
    return list(deliveries[:limit])


def webhook_delivery_get(
    *, subscription: WebhookSubscription, delivery_id: int
) -> WebhookDelivery | None:
    return subscription.deliveries.select_related("subscription").filter(pk=delivery_id).first()
