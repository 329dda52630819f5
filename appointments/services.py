"""Writes of appointments: booking, cancelling, arrival at check-in and the day's no-shows.

The ordering rule (docs/queue.md, "Appointments"): a booked patient arriving from the service's
early window before their time up to its late tolerance after it is ranked at the booked time;
outside that span they are ranked by arrival, as a walk-in. Legal priority tiers come first
either way: the rank only orders tickets within a tier.
"""

import datetime
import functools
import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from appointments.models import Appointment, AppointmentStatus
from appointments.selectors import appointments_same_day
from audit.models import AccessAction
from audit.services import AccessActor, access_record
from events.services import event_record
from patients.services import patient_lock_or_register
from queueing.clock import clinic_timezone, service_day_of, service_day_today
from queueing.models import Service, Ticket
from queueing.services.arrivals import ArrivalRank

REQUIRED_REGISTRATION_FIELDS = ("full_name", "birth_date")


class SameDayBooking(Exception):
    """The patient already has a booking that day; booking again needs the caller's confirmation."""

    def __init__(self, appointments: list[Appointment]):
        super().__init__("The patient is already booked that day.")
        self.appointments = appointments


class ExternalIdReused(Exception):
    """The partner's appointment id was already used for a different appointment."""

    def __init__(self, appointment: Appointment):
        super().__init__("External id reused for a different appointment.")
        self.appointment = appointment


class AppointmentRefused(Exception):
    """The appointment is not in a status that allows the change (409 with its status)."""

    def __init__(self, appointment: Appointment, detail: str):
        super().__init__(detail)
        self.appointment = appointment
        self.detail = detail


# --- events --------------------------------------------------------------------------------------


def _event_emit(*, kind: str, appointment: Appointment, ticket_id: int | None = None) -> None:
    """Record `appointment.<kind>` on the clinic's event stream, in the caller's transaction.

    The one call site of the stream in this app: created, cancelled, arrived, no_show.
    """
    event_record(
        kind=f"appointment.{kind}",
        ticket_id=ticket_id,
        service_id=appointment.service_id,
        data=_event_data(appointment),
    )


def _event_data(appointment: Appointment) -> dict:
    """What an appointment event carries: ids, times and status; never a CPF or a name."""
    ticket = appointment.ticket if appointment.ticket_id else None
    return {
        "appointment_id": appointment.pk,
        "external_id": appointment.external_id,
        "partner_client_id": appointment.partner_client_id,
        "status": appointment.status,
        "scheduled_at": appointment.scheduled_at.isoformat(),
        "service_day": appointment.service_day.isoformat(),
        "arrived_at": appointment.arrived_at.isoformat() if appointment.arrived_at else None,
        "display_code": ticket.display_code if ticket is not None else None,
        "rank_at": ticket.rank_at.isoformat() if ticket is not None else None,
        "patient_id": appointment.patient_id,
    }


# --- the ordering rule ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ArrivalPlace:
    """Where an arrival for a booked time goes: the appointment's new status and the rank time."""

    status: str
    rank_at: datetime.datetime


def appointment_place_for(
    *,
    scheduled_at: datetime.datetime,
    arrived_at: datetime.datetime,
    early_minutes: int,
    late_minutes: int,
) -> ArrivalPlace:
    """The rule of docs/queue.md: ranked at the booked time within [-early, +late], else walk-in."""
    if arrived_at > scheduled_at + datetime.timedelta(minutes=late_minutes):
        return ArrivalPlace(status=AppointmentStatus.LATE, rank_at=arrived_at)
    if arrived_at < scheduled_at - datetime.timedelta(minutes=early_minutes):
        return ArrivalPlace(status=AppointmentStatus.ARRIVED, rank_at=arrived_at)
    return ArrivalPlace(status=AppointmentStatus.ARRIVED, rank_at=scheduled_at)


# --- booking --------------------------------------------------------------------------------------


def _service_for_booking(*, service_id: int) -> Service:
    service = Service.objects.filter(pk=service_id).first()
    if service is None:
        raise ValidationError(
            {"service": _("There is no service with id %(id)s.") % {"id": service_id}}
        )
    if not service.is_active:
        raise ValidationError(
            {"service": _('The service "%(name)s" is not active.') % {"name": service.name}}
        )
    return service


def _in_clinic_time(moment: datetime.datetime) -> datetime.datetime:
    """An aware time; a naive one is read in the clinic's timezone."""
    if timezone.is_naive(moment):
        zone: zoneinfo.ZoneInfo = clinic_timezone()
        return timezone.make_aware(moment, zone)
    return moment


def _same_booking(
    appointment: Appointment, *, patient_cpf: str, service_id: int, scheduled_at: datetime.datetime
) -> bool:
    return (
        appointment.patient.cpf == patient_cpf
        and appointment.service_id == service_id
        and appointment.scheduled_at == scheduled_at
    )


@transaction.atomic
def appointment_create(
    *,
    cpf: str,
    service_id: int,
    scheduled_at: datetime.datetime,
    registration: dict | None = None,
    professional: str = "",
    note: str = "",
    external_id: str | None = None,
    actor: User | None = None,
    partner_client_id: str = "",
    trail_actor: AccessActor | None = None,
    confirm_same_day: bool | None = None,
) -> tuple[Appointment, bool]:
    """Book a visit; the patient is registered on first use. (appointment, created).

    `confirm_same_day` False: raise SameDayBooking when the patient already has a booking that
    day (the console asks before booking twice); True or None (partners' agendas): book.

    `trail_actor` is who the access trail names (with role and address, from the request);
    without it, the actor or partner client alone.

    `cpf` is already validated (11 digits). A repeated `external_id` of the same caller returns
    the first appointment (created False); reused for another booking it raises ExternalIdReused.
    """
    scheduled_at = _in_clinic_time(scheduled_at)
    external_id = (external_id or "").strip() or None
    if external_id is not None:
        existing = (
            Appointment.objects.select_related("patient")
            .filter(partner_client_id=partner_client_id, external_id=external_id)
            .first()
        )
        if existing is not None:
            return _replayed(existing, cpf=cpf, service_id=service_id, scheduled_at=scheduled_at)
    service = _service_for_booking(service_id=service_id)
    service_day = service_day_of(scheduled_at)
    if service_day < service_day_today():
        raise ValidationError(
            {"scheduled_at": _("The time is on a day that has passed; book today or later.")}
        )
    registration = {
        key: value.isoformat() if isinstance(value, datetime.date) else value
        for key, value in (registration or {}).items()
        if value not in (None, "")
    }
    patient, registered = patient_lock_or_register(cpf=cpf, registration=registration)
    if patient is None:
        raise ValidationError(
            {
                f"patient.{field}": _("Required: this CPF is not registered at this clinic yet.")
                for field in REQUIRED_REGISTRATION_FIELDS
                if not registration.get(field)
            }
            or {"patient": _("This CPF is not registered; send the patient's registration.")}
        )
    if confirm_same_day is False and not registered:
        same_day = appointments_same_day(patient_id=patient.pk, service_day=service_day)
        if same_day:
            raise SameDayBooking(same_day)
    appointment = Appointment(
        patient=patient,
        service=service,
        scheduled_at=scheduled_at,
        service_day=service_day,
        professional=professional.strip(),
        note=note.strip(),
        external_id=external_id,
        partner_client_id=partner_client_id,
        created_by=actor,
    )
    appointment.full_clean(exclude=["patient", "service", "created_by"], validate_unique=False)
    try:
        with transaction.atomic():
            appointment.save(force_insert=True)
    except IntegrityError:
        # A concurrent request with the same external id won the insert: answer with it.
        existing = (
            Appointment.objects.select_related("patient")
            .filter(partner_client_id=partner_client_id, external_id=external_id)
            .first()
        )
        if existing is None:
            raise
        return _replayed(existing, cpf=cpf, service_id=service_id, scheduled_at=scheduled_at)
    access_record(
        actor=trail_actor
        or AccessActor(
            user_id=actor.pk if actor is not None else None,
            user_email=actor.email if actor is not None else "",
            role="partner" if partner_client_id else "",
            partner_client_id=partner_client_id,
        ),
        action=AccessAction.BOOKING,
        patient_ids=[patient.pk],
        fields=("cpf", *sorted(registration)) if registered else ("cpf",),
    )
    _event_emit(kind="created", appointment=appointment)
    return appointment, True


def _replayed(
    existing: Appointment, *, cpf: str, service_id: int, scheduled_at: datetime.datetime
) -> tuple[Appointment, bool]:
    if not _same_booking(
        existing, patient_cpf=cpf, service_id=service_id, scheduled_at=scheduled_at
    ):
        raise ExternalIdReused(existing)
    return existing, False


@transaction.atomic
def appointment_cancel(
    *,
    appointment_id: int,
    reason: str = "",
    actor: User | None = None,
    partner_client_id: str = "",
) -> Appointment:
    """Cancel an expected appointment; cancelling a cancelled one again changes nothing.

    DoesNotExist when there is none (a partner sees only the appointments it booked);
    AppointmentRefused once the patient has arrived or the day closed them as a no-show.
    """
    appointments = Appointment.objects.select_for_update()
    if actor is None and partner_client_id:
        appointments = appointments.filter(partner_client_id=partner_client_id)
    appointment = appointments.get(pk=appointment_id)
    if appointment.status == AppointmentStatus.CANCELLED:
        return appointment
    if appointment.status != AppointmentStatus.EXPECTED:
        raise AppointmentRefused(
            appointment,
            _("The appointment is %(status)s; only an expected one can be cancelled.")
            % {"status": appointment.get_status_display()},
        )
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancel_reason = reason.strip()[:200]
    appointment.closed_at = timezone.now()
    appointment.save(update_fields=["status", "cancel_reason", "closed_at"])
    _event_emit(kind="cancelled", appointment=appointment)
    return appointment


# --- arrival (called by queueing's check-in processing) --------------------------------------


def appointment_arrival_rank(
    *, patient_id: int, service: Service, arrived_at: datetime.datetime
) -> ArrivalRank | None:
    """The arrival hook: the patient's expected appointment today in `service` ranks the ticket.

    One look-up (index appointment_expected); with several expected the day, the one booked
    nearest the arrival. None when there is none: the ticket is ranked by arrival.
    """
    expected = Appointment.objects.filter(
        patient_id=patient_id,
        service_id=service.pk,
        service_day=service_day_of(arrived_at),
        status=AppointmentStatus.EXPECTED,
    ).order_by("id")
    appointment = min(
        expected, key=lambda booked: abs(booked.scheduled_at - arrived_at), default=None
    )
    if appointment is None:
        return None
    place = appointment_place_for(
        scheduled_at=appointment.scheduled_at,
        arrived_at=arrived_at,
        early_minutes=service.appointment_early_minutes,
        late_minutes=service.appointment_late_minutes,
    )
    return ArrivalRank(
        rank_at=place.rank_at,
        linked=functools.partial(
            _arrival_link, appointment=appointment, status=place.status, arrived_at=arrived_at
        ),
    )


def _arrival_link(
    ticket: Ticket,
    issued: bool,
    *,
    appointment: Appointment,
    status: str,
    arrived_at: datetime.datetime,
) -> None:
    """The check-in's ticket answers the appointment: arrived (or late), linked to the ticket."""
    updated = Appointment.objects.filter(
        pk=appointment.pk, status=AppointmentStatus.EXPECTED, ticket__isnull=True
    ).update(status=status, ticket=ticket, arrived_at=arrived_at)
    if not updated:
        return
    appointment.status = status
    appointment.ticket = ticket
    appointment.arrived_at = arrived_at
    _event_emit(kind="arrived", appointment=appointment, ticket_id=ticket.pk)


# --- the day's close ------------------------------------------------------------------------------


def appointments_close_days(*, before: datetime.date) -> dict[datetime.date, int]:
    """Mark every appointment still expected on a day before `before` a no-show.

    Run by the daily reset in the clinic's schema and transaction; idempotent. Returns the
    number of no-shows per day marked now.
    """
    now = timezone.now()
    missing = list(
        Appointment.objects.select_for_update()
        .filter(service_day__lt=before, status=AppointmentStatus.EXPECTED)
        .order_by("id")
    )
    if not missing:
        return {}
    Appointment.objects.filter(pk__in=[a.pk for a in missing]).update(
        status=AppointmentStatus.NO_SHOW, closed_at=now
    )
    counts: dict[datetime.date, int] = {}
    for appointment in missing:
        appointment.status = AppointmentStatus.NO_SHOW
        appointment.closed_at = now
        counts[appointment.service_day] = counts.get(appointment.service_day, 0) + 1
        _event_emit(kind="no_show", appointment=appointment)
    return counts
