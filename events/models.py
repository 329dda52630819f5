"""STAND-IN for the events outbox (the preamble's contract) until the events app lands on main."""

from django.db import models


class Event(models.Model):
    """One domain event of a clinic, in the clinic's schema; `id` orders them."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=64)
    at = models.DateTimeField()
    ticket_id = models.BigIntegerField(null=True, blank=True)
    service_id = models.IntegerField(null=True, blank=True)
    desk_id = models.IntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]
