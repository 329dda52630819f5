"""The access trail: who read or changed which patient's data, when, from where and why.

Append-only: the table's trigger (migration 0001) refuses every UPDATE and TRUNCATE, and every
DELETE of an entry younger than `TRAIL_DELETE_FLOOR_DAYS`, whatever role or code path tries.
Only the daily reset's retention purge deletes, and only entries older than that.
"""

from django.db import models
from django.utils import timezone

# The trigger refuses to delete entries younger than this; retention settings below it are
# refused at start-up (clinico/settings/base.py).
TRAIL_DELETE_FLOOR_DAYS = 183


class AccessAction(models.TextChoices):
    SEARCH = "search", "search hit"
    VIEW = "view", "record viewed"
    UPDATE = "update", "record corrected"
    EXPORT = "export", "data exported"
    ANONYMISE = "anonymise", "record anonymised"
    CHECKIN = "checkin", "checked in"
    BOOKING = "booking", "appointment booked"


class AccessEntry(models.Model):
    """One read or change of a patient's identifying data."""

    at = models.DateTimeField(default=timezone.now)
    # Users and partner clients live in the public schema: ids only, and the e-mail as it was.
    user_id = models.BigIntegerField(null=True, blank=True)
    user_email = models.CharField(max_length=254, blank=True)
    role = models.CharField(max_length=32, blank=True)
    partner_client_id = models.CharField(max_length=64, blank=True)
    # No foreign key: an entry outlives anything that happens to the record it is about.
    patient_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=16, choices=AccessAction.choices)
    fields = models.JSONField(default=list, blank=True)
    address = models.CharField(max_length=45, blank=True)
    purpose = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["patient_id", "at"], name="audit_entry_patient"),
            models.Index(fields=["at"], name="audit_entry_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=AccessAction.values), name="audit_action_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} of patient {self.patient_id} at {self.at:%Y-%m-%d %H:%M}"
