"""The staff console in a real browser: sign-in, check-in by CPF, the queue, the desk."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from tests.queueing import factories
from tests.web.conftest import PASSWORD, console_ready, sign_in, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_receptionist_signs_in_and_sees_the_console_in_portuguese(page, clinic_a, clinic_url):
    # Given a receptionist of clinic A, with an English browser
    staff_user(clinic_a, "receptionist", "rita@sol.test")

    # When she opens the console, she is sent to sign in, and signs in
    page.goto(clinic_url(clinic_a))
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Entrar")).to_be_visible()
    sign_in(page, page.url, "rita@sol.test")

    # Then the console is in Portuguese, with the CPF field focused
    expect(page.get_by_role("heading", name="Fila de hoje")).to_be_visible()
    expect(page.get_by_role("button", name="Chamar próximo")).to_be_visible()
    expect(page.get_by_label("CPF do paciente")).to_be_focused()
    expect(page.get_by_text("Clínica Sol Paulista")).to_be_visible()

    # And she can sign out
    page.get_by_role("button", name="Sair").click()
    expect(page.get_by_role("heading", name="Entrar")).to_be_visible()
    page.goto(clinic_url(clinic_a))
    expect(page).to_have_url(re.compile(r"/login/"))


def test_wrong_password_and_other_clinics_staff_are_refused(page, clinic_a, clinic_b, clinic_url):
    staff_user(clinic_b, "receptionist", "bia@manaus.test")
    staff_user(clinic_a, "receptionist", "rita@sol.test")

    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test", password="errada-123")
    expect(page.get_by_role("alert")).to_contain_text("E-mail ou senha incorretos")

    # Another clinic's receptionist, with her right password, gets the very same answer
    sign_in(page, clinic_url(clinic_a, "/login/"), "bia@manaus.test")
    expect(page.get_by_role("alert")).to_contain_text("E-mail ou senha incorretos")
    expect(page.get_by_role("heading", name="Fila de hoje")).to_have_count(0)


def test_repeated_wrong_passwords_lock_the_account_for_a_minute(
    page, clinic_a, clinic_url, minute_start
):
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    for _ in range(5):
        sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test", password="chute-errado")
        expect(page.get_by_role("alert")).to_contain_text("E-mail ou senha incorretos")

    # Even the right password waits now, and the page says for how long
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")

    expect(page.get_by_role("alert")).to_contain_text(
        re.compile(r"Muitas tentativas sem sucesso. Aguarde \d+ segundos")
    )
    expect(page.get_by_role("heading", name="Fila de hoje")).to_have_count(0)


def test_staff_can_switch_the_console_to_english(page, clinic_a, clinic_url):
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    expect(page.get_by_role("button", name="Chamar próximo")).to_be_visible()

    page.get_by_role("button", name="English").click()

    expect(page.get_by_role("button", name="Call next")).to_be_visible()
    expect(page.get_by_role("heading", name="Queue today")).to_be_visible()


def test_cpf_is_formatted_while_typing_and_a_bad_one_is_explained(page, clinic_a, clinic_url):
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    console_ready(page)
    cpf = page.get_by_label("CPF do paciente")

    cpf.press_sequentially("11111111111")
    expect(cpf).to_have_value("111.111.111-11")
    cpf.press("Enter")

    expect(page.locator("#cpf-error")).to_be_visible()
    expect(cpf).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#registration")).to_be_hidden()


def test_new_cpf_registers_the_patient_and_shows_the_ticket(
    page, clinic_a, clinic_url, celery_worker, screenshots
):
    # Given a receptionist at the console and a worker processing check-ins
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    console_ready(page)
    requests = []
    page.on("request", lambda request: requests.append((request.method, request.url)))

    # When she types a CPF the clinic does not know and presses Enter
    cpf = page.get_by_label("CPF do paciente")
    cpf.press_sequentially("52998224725")
    expect(cpf).to_have_value("529.982.247-25")
    cpf.press("Enter")

    # Then the registration form opens with the name focused
    expect(page.get_by_text("Paciente novo: preencha o cadastro")).to_be_visible()
    expect(page.get_by_label("Nome completo")).to_be_focused()

    # When she registers the patient and checks in
    page.get_by_label("Nome completo").fill("Maria Aparecida da Silva")
    page.get_by_label("Data de nascimento").fill("1990-03-14")
    page.get_by_label("Telefone").fill("(11) 91234-5678")
    page.set_viewport_size({"width": 420, "height": 900})
    page.screenshot(path=str(screenshots / "console-registration-narrow.png"), full_page=True)
    page.get_by_role("button", name="Fazer check-in").click()

    # Then the ticket appears with its code, service, position and estimate
    result = page.locator("#checkin-result")
    expect(result).to_contain_text("Senha emitida", timeout=30_000)
    expect(page.get_by_test_id("issued-code")).to_have_text("R001")
    expect(result).to_contain_text("Recepção")
    expect(result).to_contain_text("Posição")
    page.screenshot(path=str(screenshots / "console-ticket-issued-narrow.png"), full_page=True)
    # and the form is ready for the next patient
    expect(cpf).to_have_value("")
    expect(page.locator("#registration")).to_be_hidden()
    # and the queue lists the new ticket with the patient's name (staff only)
    queue = page.locator("#queue")
    expect(queue).to_contain_text("R001")
    expect(queue).to_contain_text("Maria Aparecida da Silva")

    # When the same CPF comes back, no registration is asked and the same ticket is the answer
    cpf.press_sequentially("529.982.247-25")
    cpf.press("Enter")
    expect(page.get_by_test_id("issued-code")).to_have_text("R001", timeout=30_000)
    expect(page.locator("#registration")).to_be_hidden()
    # and the CPF was looked up in request bodies only, never in a URL
    searches = [r for r in requests if r[1].endswith("/api/v1/patients/search/")]
    assert [method for method, _url in searches] == ["POST", "POST"]
    assert not [url for _method, url in requests if "52998224725" in url or "529.982" in url]


def test_server_issued_tickets_appear_in_the_queue_with_their_tier(page, clinic_a, clinic_url):
    # Given three waiting tickets: a normal one, a pregnant patient's, and an 85-year-old's
    with clinic_a:
        reception = factories.reception()
        factories.waiting(reception, birth_date=datetime.date(1990, 1, 1))
        factories.waiting(reception, reason="pregnant", birth_date=datetime.date(1995, 1, 1))
        factories.ticket_issue(
            patient=factories.patient(birth_date=datetime.date(1940, 1, 1), name="Seu Joaquim"),
            service=reception,
        )
    staff_user(clinic_a, "receptionist", "rita@sol.test")

    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")

    # Then the queue shows them in call order with tier badges and the patients' names
    rows = page.locator("#queue .ticket")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("R003")
    expect(rows.nth(0)).to_contain_text("80+")
    expect(rows.nth(0)).to_contain_text("Seu Joaquim")
    expect(rows.nth(1)).to_contain_text("R002")
    expect(rows.nth(1)).to_contain_text("Prioritário")
    expect(rows.nth(2)).to_contain_text("R001")
    expect(rows.nth(2)).to_contain_text("Normal")
    expect(page.locator("#queue")).to_contain_text("3 aguardando")


def test_desk_calls_starts_and_finishes_then_the_queue_is_empty(page, clinic_a, clinic_url):
    with clinic_a:
        reception = factories.reception()
        desk = factories.desk("Guichê 1", reception)
        factories.waiting(reception)
    staff_user(clinic_a, "clinician", "caio@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "caio@sol.test")

    # A clinician has no check-in form, only the desk and the queue
    expect(page.get_by_label("CPF do paciente")).to_have_count(0)
    page.get_by_label("Guichê", exact=True).select_option(str(desk.pk))
    page.get_by_role("button", name="Chamar próximo").click()

    expect(page.get_by_test_id("desk-code")).to_have_text("R001")
    expect(page.locator("#flash")).to_contain_text("R001 chamada para Guichê 1")
    expect(page.get_by_role("button", name="Chamar próximo")).to_be_disabled()

    page.get_by_role("button", name="Iniciar atendimento").click()
    expect(page.locator("#desk-current")).to_contain_text("Em atendimento")
    page.get_by_role("button", name="Finalizar").click()
    expect(page.locator("#desk-current")).to_contain_text("Nenhum paciente neste guichê")

    page.get_by_role("button", name="Chamar próximo").click()
    expect(page.locator("#flash")).to_contain_text("Ninguém aguardando pelos serviços deste guichê")


def test_no_show_transfer_and_cancel_from_the_console(page, clinic_a, clinic_url):
    with clinic_a:
        reception = factories.reception()
        triage = factories.service("Triagem", "T")
        desk = factories.desk("Guichê 1", reception)
        factories.waiting(reception)
        factories.waiting(reception)
        factories.waiting(reception)
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    page.get_by_label("Guichê", exact=True).select_option(str(desk.pk))

    # No-show frees the desk
    page.get_by_role("button", name="Chamar próximo").click()
    expect(page.get_by_test_id("desk-code")).to_have_text("R001")
    page.get_by_role("button", name="Não compareceu").click()
    page.get_by_role("dialog").get_by_role("button", name="Não compareceu").click()
    expect(page.locator("#undo-toast")).to_contain_text("R001 · Ana Souza: Não compareceu")

    # Transfer opens a ticket in the chosen service
    page.get_by_role("button", name="Chamar próximo").click()
    expect(page.get_by_test_id("desk-code")).to_have_text("R002")
    page.get_by_label("Transferir para").select_option(str(triage.pk))
    page.get_by_role("button", name="Transferir", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("nova senha T001 em Triagem")
    expect(page.locator("#queue")).to_contain_text("T001")

    # Cancelling a waiting ticket asks for the reason
    page.locator("#queue [data-cancel][data-code='R003']").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Cancelar senha").click()
    expect(dialog.locator("#cancel-error")).to_be_visible()
    dialog.get_by_label("Motivo").fill("Paciente desistiu")
    dialog.get_by_role("button", name="Cancelar senha").click()
    expect(page.locator("#undo-toast")).to_contain_text("Senha R003 · Ana Souza cancelada")
    expect(page.locator("#queue")).not_to_contain_text("R003")


def test_only_clinic_admins_see_the_administration_links(page, clinic_a, clinic_url, new_page):
    staff_user(clinic_a, "clinic_admin", "ana@sol.test")
    staff_user(clinic_a, "receptionist", "rita@sol.test")

    sign_in(page, clinic_url(clinic_a, "/login/"), "ana@sol.test")
    admin_links = page.get_by_role("navigation", name="Administração da clínica")
    expect(admin_links.get_by_role("link", name="Painéis")).to_have_attribute(
        "href", "/manage/panels/"
    )
    expect(page.locator("body")).not_to_contain_text("#key=")

    other = new_page()
    sign_in(other, clinic_url(clinic_a, "/login/"), "rita@sol.test", PASSWORD)
    expect(other.get_by_role("heading", name="Fila de hoje")).to_be_visible()
    expect(other.get_by_role("navigation", name="Administração da clínica")).to_have_count(0)
