"""Reads of appointments: the day's list (the console's section, the API) and one appointment."""

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from queueing.clock import service_day_today


def appointment_list(
    *,
    service_day: datetime.date | None = None,
    service_id: int | None = None,
    status: str | None = None,
    external_id: str | None = None,
    partner_client_id: str | None = None,
) -> QuerySet[Appointment]:
    """The appointments of a service day (today by default) by time, with what the list shows.

    With `partner_client_id`, only the ones that partner booked.
    """
    appointments = Appointment.objects.select_related("patient", "service", "ticket").filter(
        service_day=service_day or service_day_today()
    )
    if partner_client_id is not None:
        appointments = appointments.filter(partner_client_id=partner_client_id)
    if service_id is not None:
        appointments = appointments.filter(service_id=service_id)
    if status:
        appointments = appointments.filter(status=status)
    if external_id:
        appointments = appointments.filter(external_id=external_id)
    return appointments.order_by("scheduled_at", "id")


def appointment_get(
    *, appointment_id: int, partner_client_id: str | None = None
) -> Appointment | None:
    """The appointment; with `partner_client_id`, only if that partner booked it."""
    appointments = Appointment.objects.select_related("patient", "service", "ticket").filter(
        pk=appointment_id
    )
    if partner_client_id is not None:
        appointments = appointments.filter(partner_client_id=partner_client_id)
    return appointments.first()


_EXPORT_FIELDS = (
    "id",
    "service_id",
    "service__name",
    "scheduled_at",
    "service_day",
    "professional",
    "note",
    "status",
    "external_id",
    "partner_client_id",
    "created_by_id",
    "created_at",
    "ticket_id",
    "arrived_at",
    "closed_at",
    "cancel_reason",
)


def appointments_of_patient(*, patient_id: int) -> list[dict]:
    """Every appointment of the patient, for the patient's data export (LGPD Art. 18)."""
    return list(
        Appointment.objects.filter(patient_id=patient_id)
        .order_by("scheduled_at", "id")
        .values(*_EXPORT_FIELDS)
    )


def appointment_overdue(*, appointment: Appointment, now: datetime.datetime | None = None) -> bool:
    """Still expected past the service's late tolerance: arriving now, the patient is a walk-in."""
    if appointment.status != AppointmentStatus.EXPECTED:
        return False
    tolerance = datetime.timedelta(minutes=appointment.service.appointment_late_minutes)
    return (now or timezone.now()) > appointment.scheduled_at + tolerance


def appointments_same_day(*, patient_id: int, service_day: datetime.date) -> list[Appointment]:
    """The patient's other bookings of `service_day` still on (not cancelled), by time."""
    return list(
        Appointment.objects.select_related("service")
        .filter(patient_id=patient_id, service_day=service_day)
        .exclude(status=AppointmentStatus.CANCELLED)
        .order_by("scheduled_at", "id")
    )
