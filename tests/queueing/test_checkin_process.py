"""Processing a check-in in the clinic's schema: the task's work, run in-process."""

import datetime

import pytest
import time_machine

from patients.models import Patient
from queueing.models import CheckIn, PriorityTier, Service, Ticket
from queueing.services.checkins import checkin_create, checkin_process

pytestmark = pytest.mark.django_db

CPF = "52998224725"
REGISTRATION = {"full_name": "Maria da Silva", "birth_date": datetime.date(1990, 3, 14)}


def _check_in(cpf=CPF, registration=REGISTRATION, **kwargs) -> CheckIn:
    checkin, _ = checkin_create(cpf=cpf, registration=registration, **kwargs)
    return checkin


def test_a_new_cpf_is_registered_and_gets_a_waiting_ticket(clinic_a):
    with clinic_a:
        checkin = checkin_process(checkin_id=_check_in().pk)
        patient = Patient.objects.get(cpf=CPF)
    assert (patient.full_name, patient.birth_date) == ("Maria da Silva", datetime.date(1990, 3, 14))
    assert (checkin.status, checkin.ticket.display_code, checkin.ticket.status) == (
        "queued",
        "R001",
        "waiting",
    )


def test_processing_the_same_check_in_twice_issues_one_ticket(clinic_a):
    with clinic_a:
        checkin = _check_in()
        first = checkin_process(checkin_id=checkin.pk)
        again = checkin_process(checkin_id=checkin.pk)
        assert Ticket.objects.count() == 1
    assert first.ticket_id == again.ticket_id


def test_a_patient_with_an_open_ticket_today_gets_that_ticket_again(clinic_a):
    with clinic_a:
        first = checkin_process(checkin_id=_check_in().pk)
        second = checkin_process(checkin_id=_check_in(registration={}).pk)
        assert Ticket.objects.count() == 1
    assert second.ticket_id == first.ticket_id


def test_a_closed_ticket_does_not_stop_a_new_visit(clinic_a):
    with clinic_a:
        first = checkin_process(checkin_id=_check_in().pk)
        Ticket.objects.filter(pk=first.ticket_id).update(status="done")
        second = checkin_process(checkin_id=_check_in(registration={}).pk)
    assert second.ticket.display_code == "R002"


def test_a_second_check_in_of_a_new_cpf_borrows_the_pending_registration(clinic_a):
    with clinic_a:
        first = _check_in()
        second = _check_in(registration={})
        processed = checkin_process(checkin_id=second.pk)
    assert processed.status == "queued"
    assert first.pk != second.pk


def test_the_registered_data_is_not_overwritten_by_a_later_check_in(clinic_a):
    with clinic_a:
        checkin_process(checkin_id=_check_in().pk)
        later = {"full_name": "Outro Nome", "birth_date": datetime.date(1950, 1, 1)}
        checkin_process(checkin_id=_check_in(registration=later).pk)
        assert Patient.objects.get(cpf=CPF).full_name == "Maria da Silva"


def test_a_check_in_for_a_service_closed_meanwhile_fails_with_the_reason(clinic_a):
    with clinic_a:
        checkin = _check_in()
        Service.objects.filter(pk=checkin.service_id).update(is_active=False)
        failed = checkin_process(checkin_id=checkin.pk)
    assert failed.status == "failed"
    assert "deactivated" in failed.failure_reason
    assert failed.ticket_id is None


def test_the_ticket_keeps_the_arrival_time_of_the_check_in(clinic_a):
    with clinic_a:
        with time_machine.travel(
            datetime.datetime(2026, 3, 2, 15, 0, tzinfo=datetime.UTC), tick=False
        ):
            checkin = _check_in()
        with time_machine.travel(
            datetime.datetime(2026, 3, 2, 15, 0, 3, tzinfo=datetime.UTC), tick=False
        ):
            ticket = checkin_process(checkin_id=checkin.pk).ticket
    assert ticket.arrived_at == checkin.created_at
    assert ticket.issued_at - ticket.arrived_at == datetime.timedelta(seconds=3)


@pytest.mark.parametrize(
    ("birth_date", "tier_before", "tier_on_birthday"),
    [
        (datetime.date(1966, 6, 1), PriorityTier.NORMAL, PriorityTier.PRIORITY),
        (datetime.date(1946, 6, 1), PriorityTier.PRIORITY, PriorityTier.SUPER_PRIORITY),
    ],
    ids=["turns-60", "turns-80"],
)
def test_a_patient_turning_60_or_80_today_in_the_clinics_timezone_gets_the_new_tier(
    clinic_b, birth_date, tier_before, tier_on_birthday
):
    # Manaus is UTC-4: at 03:30 UTC on 1 June it is still 31 May there; at 04:30 it is 1 June.
    registration = {"full_name": "José Pereira", "birth_date": birth_date}
    tiers = []
    with clinic_b:
        for moment in (
            datetime.datetime(2026, 6, 1, 3, 30, tzinfo=datetime.UTC),
            datetime.datetime(2026, 6, 1, 4, 30, tzinfo=datetime.UTC),
        ):
            with time_machine.travel(moment):
                checkin = checkin_process(checkin_id=_check_in(registration=registration).pk)
                tiers.append(checkin.ticket.priority_tier)
                Ticket.objects.filter(pk=checkin.ticket_id).update(status="done")
    assert tiers == [tier_before, tier_on_birthday]
