"""The public index of the event stream: one row per clinic, written with each of its events.

A timer that must find the clinics with new events (webhook deliveries, chain summaries) reads
this table with one query, whatever the number of clinics, instead of visiting every schema.
"""

from django.db import models


class ClinicActivity(models.Model):
    """A clinic's newest event: its id in the clinic's stream and when it was written."""

    # The clinic's schema name (as django-tenants' Clinic.schema_name); no foreign key, so that
    # the ground floor imports nothing above it.
    schema_name = models.CharField(max_length=63, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["last_at"], name="events_activity_last_at")]

    def __str__(self) -> str:
        return f"{self.schema_name}: event {self.last_event_id} at {self.last_at:%Y-%m-%d %H:%M:%S}"
