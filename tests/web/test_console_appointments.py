"""The console's appointments of the day in a real browser: the list, booking, cancelling."""

import datetime
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.services import appointment_create
from queueing.models import Service
from queueing.services.checkins import checkin_create, checkin_process
from tests.checkin_factories import cpf_from_number
from tests.web.conftest import console_ready, sign_in, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _later_today(minutes: int) -> datetime.datetime:
    """`minutes` from now on the clinic's clock, kept within today (the list is today's)."""
    now = timezone.now().astimezone(zoneinfo.ZoneInfo("America/Sao_Paulo"))  # clinic_a
    end_of_day = now.replace(hour=23, minute=59, second=0, microsecond=0)
    return min(now + datetime.timedelta(minutes=minutes), end_of_day)


def test_reception_sees_books_and_cancels_the_day_s_appointments(
    page, clinic_a, clinic_url, screenshots, monkeypatch
):
    # Given a booking whose patient has checked in, and one still expected
    monkeypatch.setattr("queueing.services.checkins.checkin_publish", lambda **kwargs: True)
    arrived_cpf = cpf_from_number(810_000_001)
    with clinic_a:
        service = Service.objects.get(is_default=True)
        registration = {"full_name": "Joana Chegou", "birth_date": "1980-01-02"}
        appointment_create(
            cpf=arrived_cpf,
            registration=registration,
            service_id=service.pk,
            scheduled_at=_later_today(10),
        )
        appointment_create(
            cpf=cpf_from_number(810_000_002),
            registration={"full_name": "Pedro Esperado", "birth_date": "1975-06-07"},
            service_id=service.pk,
            scheduled_at=_later_today(40),
            professional="Dra. Helena",
        )
        checkin, _ = checkin_create(cpf=arrived_cpf, service_id=service.pk)
        ticket = checkin_process(checkin_id=checkin.pk).ticket
    staff_user(clinic_a, "receptionist", "rita@sol.test")

    # When the receptionist opens the console
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    console_ready(page)

    # Then the day's appointments show who arrived (with the ticket) and who is expected
    section = page.locator("#appointments")
    expect(page.get_by_role("heading", name="Agendamentos de hoje")).to_be_visible()
    arrived = section.locator("li", has_text="Joana Chegou")
    expect(arrived).to_contain_text("Chegou")
    expect(arrived).to_contain_text(f"senha {ticket.display_code}")
    expected = section.locator("li", has_text="Pedro Esperado")
    expect(expected).to_contain_text("Esperado")
    expect(expected).to_contain_text("Dra. Helena")
    expect(page.locator("#appointments-counts")).to_have_text(
        "1 esperados · 1 chegaram · 0 faltaram"
    )

    # When she books a new patient for later today
    page.get_by_text("Novo agendamento").click()
    page.get_by_label("CPF do agendamento").fill("111.444.777-35")
    page.get_by_label("Data e hora").fill(_later_today(60).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Nome do paciente novo").fill("Lia Nova")
    page.get_by_label("Nascimento do paciente novo").fill("1999-09-09")
    page.get_by_role("button", name="Agendar").click()

    # Then it is listed as expected
    expect(section.locator("li", has_text="Lia Nova")).to_contain_text("Esperado")
    page.screenshot(path=str(screenshots / "console-appointments.png"), full_page=True)

    # When she cancels Pedro's appointment (and confirms)
    page.once("dialog", lambda dialog: dialog.accept())
    expected.get_by_role("button", name="Cancelar").click()

    # Then it reads cancelled and has no cancel button any more
    expect(expected).to_contain_text("Cancelado")
    expect(expected.get_by_role("button")).to_have_count(0)


def test_checking_in_a_booked_patient_at_the_console_marks_the_appointment_arrived(
    page, clinic_a, clinic_url, celery_worker
):
    # Given a patient booked for later today, and a worker processing check-ins
    with clinic_a:
        appointment_create(
            cpf="52998224725",
            registration={"full_name": "Pedro Agendado", "birth_date": "1975-06-07"},
            service_id=Service.objects.get(is_default=True).pk,
            scheduled_at=_later_today(20),
        )
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    console_ready(page)
    expect(page.locator("#appointments li", has_text="Pedro Agendado")).to_contain_text("Esperado")

    # When the receptionist checks him in by CPF, as any patient
    cpf = page.get_by_label("CPF do paciente")
    cpf.press_sequentially("52998224725")
    cpf.press("Enter")
    expect(page.locator("#checkin-result")).to_contain_text("Senha emitida", timeout=30_000)

    # Then his appointment reads arrived, with the ticket he was given
    page.reload()
    row = page.locator("#appointments li", has_text="Pedro Agendado")
    expect(row).to_contain_text("Chegou")
    expect(row).to_contain_text("senha R001")


def test_a_booking_with_a_bad_cpf_names_the_field(page, clinic_a, clinic_url):
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    console_ready(page)

    page.get_by_text("Novo agendamento").click()
    page.get_by_label("CPF do agendamento").fill("111.111.111-11")
    page.get_by_label("Data e hora").fill(_at_noon_tomorrow())
    page.get_by_role("button", name="Agendar").click()

    expect(page.locator("#appointment-cpf-error")).to_be_visible()
    expect(page.locator("#appointments li", has_text="111")).to_have_count(0)


def _at_noon_tomorrow() -> str:
    return (timezone.now() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT12:00")
