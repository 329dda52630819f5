"""What the clinic holds about one patient (LGPD Art. 18 export), and records due for review."""

import datetime
from collections.abc import Callable
from typing import Any

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from audit.selectors import access_entries_list
from patients.models import Patient
from patients.selectors import patient_record_changes
from queueing.models import CheckIn, Ticket, TicketEvent

_RECORD_FIELDS = (
    "id",
    "cpf",
    "full_name",
    "social_name",
    "birth_date",
    "phone",
    "email",
    "created_at",
    "updated_at",
    "anonymised_at",
)
_TICKET_FIELDS = (
    "id",
    "display_code",
    "service_id",
    "service__name",
    "service_day",
    "priority_tier",
    "priority_reason",
    "status",
    "arrived_at",
    "issued_at",
    "called_at",
    "started_at",
    "finished_at",
    "desk__name",
    "cancel_reason",
    "transferred_from_id",
)
_EVENT_FIELDS = ("ticket_id", "kind", "at", "from_status", "to_status", "desk__name", "detail")
_CHECKIN_FIELDS = (
    "id",
    "cpf",
    "registration",
    "service_id",
    "priority_reason",
    "status",
    "failure_reason",
    "ticket_id",
    "created_at",
    "processed_at",
)
_TRAIL_FIELDS = ("at", "user_id", "role", "partner_client_id", "action", "fields", "purpose")

# What apps above queueing hold about a patient (appointments' bookings), by section name: they
# register a reader when Django starts, since queueing never imports them.
_EXPORT_SECTIONS: dict[str, Callable[..., list[dict[str, Any]]]] = {}


# Dates of other records that count as a patient's activity (appointments' booked days), as
# lookups from Patient: a patient booked for a recent or coming day is not due for review.
_ACTIVITY_DAY_LOOKUPS: list[str] = []


def patient_activity_register(*, day_lookup: str) -> None:
    """Count `day_lookup` (a date reached from Patient, e.g. "appointments__service_day")."""
    if day_lookup not in _ACTIVITY_DAY_LOOKUPS:
        _ACTIVITY_DAY_LOOKUPS.append(day_lookup)


def patient_export_section_register(
    *, name: str, reader: Callable[..., list[dict[str, Any]]]
) -> None:
    """Add `name` to every patient export: `reader(patient_id=...)` gives its rows."""
    _EXPORT_SECTIONS[name] = reader


def patient_data_export(*, patient: Patient) -> dict[str, Any]:
    """Everything the clinic keeps about `patient`: record, changes, visits, and who saw them."""
    tickets = list(Ticket.objects.filter(patient=patient).order_by("issued_at", "id"))
    ticket_ids = [ticket.pk for ticket in tickets]
    checkins = Q(patient=patient)
    if patient.cpf:
        checkins |= Q(cpf=patient.cpf)
    return {
        "exported_at": timezone.now(),
        "record": {field: getattr(patient, field) for field in _RECORD_FIELDS},
        "record_changes": patient_record_changes(patient_id=patient.pk),
        "check_ins": list(
            CheckIn.objects.filter(checkins).order_by("created_at").values(*_CHECKIN_FIELDS)
        ),
        "tickets": list(
            Ticket.objects.filter(pk__in=ticket_ids)
            .order_by("issued_at", "id")
            .values(*_TICKET_FIELDS)
        ),
        "ticket_events": list(
            TicketEvent.objects.filter(ticket_id__in=ticket_ids)
            .order_by("at", "id")
            .values(*_EVENT_FIELDS)
        ),
        **{name: reader(patient_id=patient.pk) for name, reader in _EXPORT_SECTIONS.items()},
        "access_trail": list(access_entries_list(patient_id=patient.pk).values(*_TRAIL_FIELDS)),
    }


def patients_due_for_review(*, no_visit_since: datetime.date) -> QuerySet[Patient]:
    """Patients whose last ticket (or registration, if none) is older than `no_visit_since`.

    Other activity registered by the apps above (a booking on a recent or coming day) keeps a
    patient off the list.
    """
    patients = (
        Patient.objects.filter(anonymised_at__isnull=True)
        .annotate(last_visit=Max("tickets__service_day"))
        .filter(
            Q(last_visit__lt=no_visit_since)
            | Q(last_visit__isnull=True, created_at__date__lt=no_visit_since)
        )
    )
    for number, lookup in enumerate(_ACTIVITY_DAY_LOOKUPS):
        last = f"last_activity_{number}"
        patients = patients.annotate(**{last: Max(lookup)}).filter(
            Q(**{f"{last}__isnull": True}) | Q(**{f"{last}__lt": no_visit_since})
        )
    return patients.order_by("last_visit", "id")
