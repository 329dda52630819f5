import datetime

import pytest
import time_machine

from patients.models import Patient
from queueing.models import PriorityTier, Service, TicketCounter, TicketEvent
from queueing.services.tickets import age_on, priority_tier_for, ticket_issue

pytestmark = pytest.mark.django_db


def _patient(cpf="52998224725", birth_date=datetime.date(1990, 5, 17)):
    return Patient.objects.create(cpf=cpf, full_name="Ana Souza", birth_date=birth_date)


def test_numbers_run_from_one_per_service_with_prefixed_display_codes(clinic_a):
    with clinic_a:
        reception = Service.objects.get(is_default=True)
        triage = Service.objects.create(name="Triagem", prefix="T")
        patient = _patient()
        codes = [ticket_issue(patient=patient, service=reception).display_code for _ in range(3)]
        codes.append(ticket_issue(patient=patient, service=triage).display_code)
    assert codes == ["R001", "R002", "R003", "T001"]


def test_display_codes_keep_every_digit_past_999(clinic_a):
    with clinic_a:
        reception = Service.objects.get(is_default=True)
        patient = _patient()
        first = ticket_issue(patient=patient, service=reception)
        TicketCounter.objects.filter(service=reception, service_day=first.service_day).update(
            last_number=998
        )
        codes = [ticket_issue(patient=patient, service=reception).display_code for _ in range(2)]
    assert codes == ["R999", "R1000"]


def test_issuing_records_an_issued_event(clinic_a):
    with clinic_a:
        ticket = ticket_issue(patient=_patient(), service=Service.objects.get(is_default=True))
        event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.to_status) == ("issued", "waiting")


def test_numbering_restarts_on_the_clinics_next_local_day(clinic_b):
    # Manaus is UTC-4: 03:59 UTC on the 2nd is still the 1st there; 04:00 UTC is the 2nd.
    with clinic_b:
        service = Service.objects.get(is_default=True)
        patient = _patient()
        with time_machine.travel(datetime.datetime(2026, 3, 2, 3, 59, tzinfo=datetime.UTC)):
            late = ticket_issue(patient=patient, service=service)
        with time_machine.travel(datetime.datetime(2026, 3, 2, 4, 0, tzinfo=datetime.UTC)):
            early = ticket_issue(patient=patient, service=service)
    assert (late.service_day, late.number) == (datetime.date(2026, 3, 1), 1)
    assert (early.service_day, early.number) == (datetime.date(2026, 3, 2), 1)


@pytest.mark.parametrize(
    ("birth", "reason", "tier"),
    [
        (datetime.date(1946, 6, 1), "", PriorityTier.SUPER_PRIORITY),  # 80 today
        (datetime.date(1946, 6, 2), "", PriorityTier.PRIORITY),  # 80 tomorrow: still 79
        (datetime.date(1966, 6, 1), "", PriorityTier.PRIORITY),  # 60 today
        (datetime.date(1966, 6, 2), "", PriorityTier.NORMAL),
        (datetime.date(1990, 1, 1), "pregnant", PriorityTier.PRIORITY),
        (datetime.date(1990, 1, 1), "autism", PriorityTier.PRIORITY),
        (datetime.date(1990, 1, 1), "blood_donor", PriorityTier.BLOOD_DONOR),
        (datetime.date(1940, 1, 1), "blood_donor", PriorityTier.SUPER_PRIORITY),
        (None, "", PriorityTier.NORMAL),
    ],
)
def test_priority_tier_follows_the_law(birth, reason, tier):
    assert (
        priority_tier_for(birth_date=birth, declared_reason=reason, day=datetime.date(2026, 6, 1))[
            0
        ]
        == tier
    )


def test_leap_day_birthdays_count_from_march_first():
    assert age_on(birth_date=datetime.date(1964, 2, 29), day=datetime.date(2024, 2, 28)) == 59
    assert age_on(birth_date=datetime.date(1964, 2, 29), day=datetime.date(2024, 2, 29)) == 60
    assert age_on(birth_date=datetime.date(1966, 2, 28), day=datetime.date(2026, 3, 1)) == 60
