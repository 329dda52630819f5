"""One public row per clinic with webhook work: found by the sweeper with one query."""

from django.db import models


class WebhookSchedule(models.Model):
    """When the clinic next has webhook work due (new events to send, a retry); null: none.

    Written in the same transaction as the event (integrations.receivers) or by the clinic's
    delivery task, so a clinic whose trigger message was lost (RabbitMQ down) is still found.
    """

    clinic = models.OneToOneField(
        "tenants.Clinic", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)

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
