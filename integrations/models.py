"""Webhook subscriptions, their deliveries (one per event and subscription) and the delivery log.

Tables of the clinic's schema. A partner's subscription names its client by `client_id` (no
foreign key: a tenant table may not hold a row that deleting a public row must cascade into).
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class WebhookSubscription(models.Model):
    """An HTTPS endpoint of a partner (or of the clinic's own systems) and the kinds it wants."""

    url = models.URLField(_("URL"), max_length=500)
    kinds = models.JSONField(_("event kinds"), default=list)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Empty: the clinic's own systems (made by a clinic admin); else the partner client's id.
    partner_client_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_by = models.CharField(max_length=254, blank=True)  # e-mail or client id, for the log
    # Payloads carry the patient's CPF and name only when this is set (clinic's own systems).
    personal_data = models.BooleanField(_("personal data"), default=False)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    # The last event of the stream already turned into deliveries for this subscription (at
    # first the stream's newest: a subscription gets the events from its creation on).
    cursor = models.BigIntegerField(default=0)
    # The circuit breaker (integrations.breaker): failed sends since the last delivered one, and
    # until when no delivery of this subscription is sent (then one tries: half-open).
    failures_in_row = models.PositiveIntegerField(default=0)
    breaker_open_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_active=False) | Q(disabled_at__isnull=True),
                name="webhook_active_not_disabled",
            ),
        ]

    def __str__(self) -> str:
        return f"webhook {self.pk} → {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed (retries exhausted)")


class WebhookDelivery(models.Model):
    """One event for one subscription: sent until the receiver answers 2xx or the window ends."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.BigIntegerField()
    kind = models.CharField(max_length=64)
    ticket_id = models.BigIntegerField(null=True, blank=True)
    event_at = models.DateTimeField()
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Retries go on for CLINICO_WEBHOOK_RETRY_WINDOW_SECONDS from here (made, redelivered).
    window_started_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # A short class of what went wrong ("timeout", "tls", "refused", "http 500"), never the
    # exception's text (it would map the receiver's network).
    last_error = models.TextField(blank=True)
    # While a worker sends it: claimed until then (a worker that died leaves it to another).
    lease_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-event_id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhook_delivery_once_per_event"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["subscription", "ticket_id", "event_id"],
                name="webhook_delivery_ticket_order",
                condition=Q(status="pending"),
            ),
            # The log's retention deletes the oldest rows first.
            models.Index(fields=["created_at"], name="webhook_delivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.event_id} → webhook {self.subscription_id}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery, as the receiver answered it (the delivery log)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    manual = models.BooleanField(default=False)  # a redelivery someone asked for

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"attempt at {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"


class NoticeKind(models.TextChoices):
    DISABLED = "disabled", _("disabled after persistent failure")
    ENABLED = "enabled", _("enabled again")
    SECRET_ROTATED = "secret_rotated", _("secret rotated")


class WebhookNotice(models.Model):
    """Something the subscription's owner should know (shown in the API and the admin)."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="notices"
    )
    at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    message = models.TextField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"
