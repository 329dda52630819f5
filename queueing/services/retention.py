"""Personal data kept only as long as needed, applied by the daily reset (docs/privacy.md)."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import access_trail_purge
from events.services import events_purge
from patients.services import patient_record_changes_purge
from queueing.models import CheckIn, CheckInStatus, TicketEvent
from queueing.services.checkins import checkin_request_hash


@dataclass(frozen=True)
class RetentionApplied:
    checkins_cleared: int
    events_deleted: int
    trail_entries_deleted: int


def checkins_forget_personal_data(*, processed_before: datetime.datetime) -> int:
    """Clear the CPF and registration of check-ins processed before the cut, keeping their hash."""
    cleared = 0
    due = (
        CheckIn.objects.exclude(status=CheckInStatus.PENDING)
        .filter(processed_at__lt=processed_before)
        .exclude(cpf="")
        .select_for_update(skip_locked=True)
        .only("id", "cpf", "registration")
    )
    batch = []
    for checkin in due.iterator(chunk_size=1000):
        checkin.request_hash = checkin_request_hash(
            cpf=checkin.cpf, registration=checkin.registration
        )
        checkin.cpf = ""
        checkin.registration = {}
        batch.append(checkin)
        if len(batch) == 1000:
            cleared += CheckIn.objects.bulk_update(batch, ["cpf", "registration", "request_hash"])
            batch = []
    if batch:
        cleared += CheckIn.objects.bulk_update(batch, ["cpf", "registration", "request_hash"])
    return cleared


@transaction.atomic
def retention_apply(*, now: datetime.datetime | None = None) -> RetentionApplied:
    """Apply the clinic's retention periods: check-in CPFs, events, the access trail.

    Events are ticket events, the records of corrections to patient records and the clinic's
    event stream, all kept CLINICO_EVENT_RETENTION_DAYS.
    """
    now = now or timezone.now()
    window = datetime.timedelta(hours=settings.CLINICO_CHECKIN_IDEMPOTENCY_HOURS)
    events_before = now - datetime.timedelta(days=settings.CLINICO_EVENT_RETENTION_DAYS)
    trail_before = now - datetime.timedelta(days=settings.CLINICO_ACCESS_TRAIL_RETENTION_DAYS)
    events_deleted, _ = TicketEvent.objects.filter(at__lt=events_before).delete()
    events_deleted += patient_record_changes_purge(before=events_before)
    events_deleted += events_purge(before=events_before)
    return RetentionApplied(
        checkins_cleared=checkins_forget_personal_data(processed_before=now - window),
        events_deleted=events_deleted,
        trail_entries_deleted=access_trail_purge(before=trail_before),
    )
