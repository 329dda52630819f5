"""Builders of the appointment tests: bookings and arrivals at set times of a clinic's day."""

import datetime
import itertools
import zoneinfo

import time_machine

from appointments.models import Appointment
from appointments.services import appointment_create
from queueing.models import Service, Ticket
from queueing.services.checkins import checkin_create, checkin_process
from tests.checkin_factories import cpf_from_number

SAO_PAULO = zoneinfo.ZoneInfo("America/Sao_Paulo")
# A Monday of clinic_a (São Paulo, UTC-3 all year since 2019).
DAY = datetime.date(2026, 3, 2)

_numbers = itertools.count(700_000_001)


def local(hour: int, minute: int = 0, *, day: datetime.date = DAY) -> datetime.datetime:
    """A time of `day` on clinic_a's clock."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SAO_PAULO)


def new_cpf() -> str:
    return cpf_from_number(next(_numbers))


def registration(*, birth_date: str = "1990-05-17") -> dict:
    return {"full_name": "Paciente de Teste", "birth_date": birth_date}


def book(
    service: Service,
    at: datetime.datetime,
    *,
    cpf: str | None = None,
    birth_date: str = "1990-05-17",
    booked_at: datetime.datetime | None = None,
    **kwargs,
) -> Appointment:
    """A booking made early on the day (07:00) for `at`; the patient registered if new."""
    with time_machine.travel(
        booked_at or local(7, day=at.astimezone(SAO_PAULO).date()), tick=False
    ):
        appointment, created = appointment_create(
            cpf=cpf or new_cpf(),
            registration=registration(birth_date=birth_date),
            service_id=service.pk,
            scheduled_at=at,
            **kwargs,
        )
    assert created
    return appointment


def arrive(
    service: Service,
    at: datetime.datetime,
    *,
    cpf: str | None = None,
    reason: str = "",
    birth_date: str = "1990-05-17",
) -> Ticket:
    """A check-in by CPF at `at`, processed at once: the ticket it was given."""
    with time_machine.travel(at, tick=False):
        checkin, _ = checkin_create(
            cpf=cpf or new_cpf(),
            registration=registration(birth_date=birth_date),
            service_id=service.pk,
            priority_reason=reason,
        )
        processed = checkin_process(checkin_id=checkin.pk)
    assert processed is not None and processed.ticket is not None, processed
    return processed.ticket
