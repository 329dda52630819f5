"""Booking and checking in at the 1366 px reception PC: the booking CPF formatted as typed, a
second booking of the same patient that day asked before it is made, and a booked patient's
appointment shown at check-in."""

import pytest
from playwright.sync_api import expect

from appointments.models import Appointment
from appointments.services import appointment_create
from queueing.models import Service
from tests.web.conftest import axe_check, console_ready, sign_in, staff_user
from tests.web.test_console_appointments import _later_today

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CPF = "52998224725"
RECEPTION_PC = {"width": 1366, "height": 768}
SHOTS = "/tmp/shots-x"


def _booked(clinic, minutes: int, name: str = "Pedro Agendado") -> None:
    with clinic:
        appointment_create(
            cpf=CPF,
            registration={"full_name": name, "birth_date": "1975-06-07"},
            service_id=Service.objects.get(is_default=True).pk,
            scheduled_at=_later_today(minutes),
        )


def _console(new_page, clinic, clinic_url):
    staff_user(clinic, "receptionist", "rita@sol.test")
    page = new_page(locale="pt-BR", viewport=RECEPTION_PC)
    sign_in(page, clinic_url(clinic, "/login/"), "rita@sol.test")
    console_ready(page)
    return page


def test_the_booking_cpf_is_formatted_as_it_is_typed(new_page, clinic_a, clinic_url):
    page = _console(new_page, clinic_a, clinic_url)
    page.get_by_text("Novo agendamento").click()

    field = page.get_by_label("CPF do agendamento")
    field.press_sequentially("52998")
    expect(field).to_have_value("529.98")
    field.press_sequentially("224725")

    expect(field).to_have_value("529.982.247-25")


def test_a_second_booking_the_same_day_is_asked_before_it_is_made(new_page, clinic_a, clinic_url):
    # Given Pedro booked for later today
    _booked(clinic_a, 20)
    page = _console(new_page, clinic_a, clinic_url)
    section = page.locator("#appointments")
    expect(section.locator("li", has_text="Pedro Agendado")).to_have_count(1)

    # When the receptionist books him again for the same day
    page.get_by_text("Novo agendamento").click()
    page.get_by_label("CPF do agendamento").press_sequentially(CPF)
    page.get_by_label("Data e hora").fill(_later_today(90).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Agendar", exact=True).click()

    # Then she is told about the other booking, and nothing is booked yet
    warning = page.locator("#appointment-same-day")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Este paciente já tem agendamento neste dia:")
    expect(warning).to_contain_text(_later_today(20).strftime("%H:%M"))
    expect(warning).to_contain_text("Recepção")
    with clinic_a:
        assert Appointment.objects.count() == 1
    page.screenshot(path=f"{SHOTS}/booking-same-day-1366.png", full_page=True)
    axe_check(page, ready="#queue-updated")

    # When she confirms, the second booking is made
    warning.get_by_role("button", name="Agendar mesmo assim").click()
    expect(section.locator("li", has_text="Pedro Agendado")).to_have_count(2)
    expect(warning).to_be_hidden()


def test_checking_in_a_booked_patient_shows_the_booking(
    new_page, clinic_a, clinic_url, celery_worker
):
    _booked(clinic_a, 20)
    page = _console(new_page, clinic_a, clinic_url)

    cpf = page.get_by_label("CPF do paciente")
    cpf.press_sequentially(CPF)
    cpf.press("Enter")

    result = page.locator("#checkin-result")
    expect(result).to_contain_text("Senha emitida", timeout=30_000)
    expect(page.get_by_test_id("booked-today")).to_have_text(
        f"Agendado hoje às {_later_today(20).strftime('%H:%M')} · Recepção"
    )
    page.screenshot(path=f"{SHOTS}/checkin-booked-1366.png", full_page=True)
