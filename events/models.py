"""The clinic's event stream: an outbox table of domain events, written in the changing transaction.

Consumers (the pages' live streams, partner webhooks, chain summaries) read from here, never
from the apps that wrote the events. Ids increase in commit order within a clinic (see
migration 0001: each writing transaction holds the clinic's row of the public index from its
first event to its commit), so "every event after id N" never skips one committed later.
"""

from django.db import models

# One channel for every clinic; the payload is "<schema> <last event id>" (see docs/events.md).
EVENTS_CHANNEL = "clinico_events"
# The payload "<schema> figures": the clinic's public live figures were just refreshed (no new
# event; the chain dashboard reads its figures again).
FIGURES_REFRESHED = "figures"


class Event(models.Model):
    """One domain event of the clinic: `ticket.called`, `checkin.queued`, `day.closed` …

    `data` never holds a CPF or a person's name: it is what a panel, a partner or a summary may
    see about the change.
    """

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=40)
    at = models.DateTimeField()
    # Plain ids, no foreign keys: the ground floor imports no app above it, and an event
    # outlives anything that happens to the rows it is about.
    ticket_id = models.BigIntegerField(null=True, blank=True)
    service_id = models.BigIntegerField(null=True, blank=True)
    desk_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["ticket_id", "id"], name="events_event_ticket"),
            models.Index(fields=["at"], name="events_event_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(kind=""), name="events_event_kind_set"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"
