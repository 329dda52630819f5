"""One public row per clinic with webhook work: found by the sweeper with one query."""

from django.db import models


class WebhookSchedule(models.Model):
    """A clinic with active webhook subscriptions: how far they have read the event stream,
    and when a delivery is next due (a retry, a redelivery); null: none.

    The sweeper compares `event_cursor` with the stream's public index (events.activity) in
    the same query, so a clinic whose trigger was lost (RabbitMQ down) is still found.
    """

    clinic = models.OneToOneField(
        "tenants.Clinic", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    event_cursor = models.BigIntegerField(default=0)
    # Set when the listener publishes the clinic's task, cleared when a task starts: while it is
    # set (and fresh) a burst of events publishes no more tasks, the queued one will read them.
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                name="webhook_schedule_due",
                condition=models.Q(due_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"webhooks of clinic {self.clinic_id} due at {self.due_at}"
