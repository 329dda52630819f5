"""Keyboard only, as a receptionist without a mouse or a patient using the totem's keyboard:
check a patient in and call the next ticket at the console, type a CPF and get a ticket at the
totem. No click, no pointer: Tab, the typed keys, arrows and Enter."""

import pytest
from playwright.sync_api import expect

from patients.models import Patient
from tests.queueing import factories
from tests.web.conftest import axe_check, console_ready, sign_in, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CPF = "52998224725"
RECEPTION_PC = {"width": 1366, "height": 768}
TOTEM = {"width": 1080, "height": 1920}
SHOTS = "/tmp/shots-x"


def _tab_to(page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until the element `selector` names has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
    raise AssertionError(f"{selector} never got the focus in {limit} presses of Tab")


def test_a_receptionist_checks_in_and_calls_next_with_the_keyboard_alone(
    new_page, clinic_a, clinic_url, celery_worker
):
    # Given a registered patient, a desk and a receptionist signed in
    with clinic_a:
        reception = factories.reception()
        desk = factories.desk("Guichê 1", reception)
        Patient.objects.create(cpf=CPF, full_name="Maria Aparecida da Silva")
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    page = new_page(locale="pt-BR", viewport=RECEPTION_PC)
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    console_ready(page)

    # When she tabs to the CPF field, types it and presses Enter
    page.locator("body").focus()
    _tab_to(page, "#cpf")
    page.keyboard.type(CPF)
    page.keyboard.press("Enter")

    # Then the ticket is issued
    expect(page.get_by_test_id("issued-code")).to_have_text("R001", timeout=30_000)

    # When she tabs to her desk, chooses it with the arrows, tabs to "Call next" and presses Enter
    _tab_to(page, "#desk")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#desk")).to_have_value(str(desk.pk))
    _tab_to(page, "#call-next")
    page.keyboard.press("Enter")

    # Then her desk holds the patient's ticket
    expect(page.get_by_test_id("desk-code")).to_have_text("R001")
    expect(page.locator("#desk-current")).to_contain_text("Maria Aparecida da Silva")
    page.screenshot(path=f"{SHOTS}/console-keyboard-1366.png", full_page=True)
    axe_check(page, ready="#queue-updated")


def test_a_patient_types_a_cpf_and_gets_a_ticket_at_the_totem_with_the_keyboard_alone(
    new_page, clinic_a, clinic_url, celery_worker
):
    with clinic_a:
        factories.service("Exames", "E")
        Patient.objects.create(cpf=CPF, full_name="Joana Prado")
    totem = new_page(locale="pt-BR", viewport=TOTEM)
    totem.add_init_script("window.print = () => { window.printed = (window.printed || 0) + 1; };")
    totem.goto(clinic_url(clinic_a, f"/totem/#key={clinic_a.totem_key}"))
    expect(totem.get_by_role("heading", name="Bem-vindo! Digite seu CPF")).to_be_visible()

    # The CPF typed on the keyboard, confirmed with Enter
    totem.keyboard.type(CPF)
    expect(totem.locator("#cpf-display")).to_have_text("529.982.247-25")
    totem.keyboard.press("Enter")

    # The service and the priority chosen with Tab and Enter
    expect(totem.get_by_role("heading", name="Qual atendimento você procura?")).to_be_visible()
    first_service = totem.locator("#step-service [data-service]").first
    prefix = first_service.locator(".choice-icon").inner_text()
    _tab_to(totem, "#step-service [data-service]")
    totem.keyboard.press("Enter")
    priority = totem.get_by_role("heading", name="Você tem direito a atendimento prioritário?")
    expect(priority).to_be_visible()
    _tab_to(totem, "#step-priority .totem-none")
    totem.keyboard.press("Enter")

    # Then the ticket is shown and printed
    expect(totem.get_by_test_id("ticket-code")).to_have_text(f"{prefix}001", timeout=30_000)
    totem.wait_for_function("() => window.printed === 1")
    totem.screenshot(path=f"{SHOTS}/totem-keyboard-ticket-1080.png")
