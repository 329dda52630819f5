"""A patient at the totem: new CPF, declared priority, printed 80 mm ticket, status on the phone.

Chromium drives the totem (opened from the console's `#key=` link), a real Celery worker issues
the ticket, the print preview is the ticket on 80 mm paper with a QR code of the status link,
and the status page on a 390 px phone shows the call to the desk without a reload.
"""

import re
import time

import pytest
import segno
from playwright.sync_api import expect

from patients.models import Patient
from queueing.models import Ticket
from queueing.services.workflow import ticket_call_next
from tests.queueing import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CPF = "52998224725"
PHONE = {"width": 390, "height": 844}
TOTEM = {"width": 1080, "height": 1920}
MM_80_PX = 302  # 80 mm at 96 px per inch


def _keypad(page, digits: str, step: str) -> None:
    pad = page.locator(f"#{step} .keypad")
    for digit in digits:
        pad.locator(f'[data-digit="{digit}"]').click()


def test_a_new_patient_checks_in_at_the_totem_and_follows_the_ticket_on_the_phone(
    new_page, clinic_a, clinic_url, celery_worker, screenshots
):
    # Given a clinic with two services, a desk, and the totem opened from the console's link
    with clinic_a:
        reception = factories.reception()
        factories.service("Exames", "E")
        desk = factories.desk("Guichê 2", reception)
    totem = new_page(locale="pt-BR", viewport=TOTEM)
    # The kiosk prints without a dialog (--kiosk-printing); here each print request is counted.
    totem.add_init_script("window.print = () => { window.printed = (window.printed || 0) + 1; };")
    sent = []
    totem.on("request", lambda request: sent.append((request.url, request.post_data or "")))
    totem.goto(clinic_url(clinic_a, f"/totem/#key={clinic_a.totem_key}"))
    expect(totem).to_have_url(re.compile(r"/totem/$"))
    expect(totem.get_by_role("heading", name="Bem-vindo! Digite seu CPF")).to_be_visible()

    # When a patient types a CPF the clinic does not know, formatted as it is typed
    _keypad(totem, CPF[:5], "step-cpf")
    expect(totem.locator("#cpf-display")).to_have_text("529.98_.___-__")
    _keypad(totem, CPF[5:], "step-cpf")
    expect(totem.locator("#cpf-display")).to_have_text("529.982.247-25")
    totem.screenshot(path=str(screenshots / "totem-cpf.png"))
    totem.get_by_role("button", name="Continuar").click()

    # and chooses the service, then declares a priority with its big button
    expect(totem.get_by_role("heading", name="Qual atendimento você procura?")).to_be_visible()
    totem.locator("#step-service").get_by_role("button", name="Recepção").click()
    priority = totem.get_by_role("heading", name="Você tem direito a atendimento prioritário?")
    expect(priority).to_be_visible()
    totem.screenshot(path=str(screenshots / "totem-priority.png"))
    totem.get_by_role("button", name="Gestante").click()

    # Then the totem asks for the short registration, typed on its own keyboard
    registration = totem.get_by_role("heading", name="Primeira vez aqui? Um cadastro rápido")
    expect(registration).to_be_visible()
    letters = totem.locator("#letters")
    for char in "JOANA PRADO":
        letters.locator(f'[data-letter="{char}"]').click()
    expect(totem.locator("#full-name")).to_have_value("Joana Prado")
    totem.screenshot(path=str(screenshots / "totem-registration.png"))
    totem.get_by_role("button", name="Continuar").click()
    _keypad(totem, "14031991", "register-birth")
    expect(totem.locator("#birth-display")).to_have_text("14/03/1991")
    totem.get_by_role("button", name="Emitir minha senha").click()

    # and the worker's ticket is shown and printed
    expect(totem.get_by_test_id("ticket-code")).to_have_text("R001", timeout=30_000)
    expect(totem.get_by_text("Retire sua senha impressa")).to_be_visible()
    totem.screenshot(path=str(screenshots / "totem-ticket.png"))
    totem.wait_for_function("() => window.printed === 1")
    with clinic_a:
        patient = Patient.objects.get(cpf=CPF)
        ticket = Ticket.objects.get(patient=patient)
    assert patient.full_name == "Joana Prado"
    assert (ticket.display_code, ticket.priority_reason, ticket.service_id) == (
        "R001",
        "pregnant",
        reception.pk,
    )
    # The CPF went in request bodies only; the key in none of the totem's requests
    assert not [url for url, _body in sent if CPF in url or CPF[:3] + "." in url]
    assert any(CPF in body for _url, body in sent)
    assert not [url for url, _body in sent if clinic_a.totem_key in url]

    # The print preview is one 80 mm ticket with the code, the service and a QR code
    totem.emulate_media(media="print")
    totem.set_viewport_size({"width": MM_80_PX, "height": 700})
    ticket_box = totem.get_by_test_id("ticket")
    expect(ticket_box).to_be_visible()
    expect(totem.get_by_text("Retire sua senha impressa")).to_be_hidden()
    box = ticket_box.bounding_box()
    assert abs(box["width"] - MM_80_PX) <= 2 and box["x"] == 0, box
    expect(ticket_box).to_contain_text("Recepção")
    expect(ticket_box).to_contain_text("Prioridade: Gestante")
    qr = ticket_box.locator("svg.segno")
    expect(qr).to_be_visible()
    totem.screenshot(path=str(screenshots / "ticket-80mm.png"), full_page=True)
    pdf = totem.pdf(width="80mm", height="140mm", print_background=True, prefer_css_page_size=True)
    (screenshots / "ticket-80mm.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1  # the whole ticket on one page
    # The QR code is the status link printed beneath it: the same text draws the same code
    link = totem.get_by_test_id("status-link").inner_text()
    assert re.fullmatch(rf"{re.escape(clinic_url(clinic_a, '/s/'))}#[\w:.-]+", link), link
    drawn = qr.evaluate("svg => svg.querySelector('path').getAttribute('d')")
    assert drawn == _qr_path(link)

    # When the patient opens the QR's link on a phone
    phone = new_page(locale="pt-BR", viewport=PHONE, is_mobile=True, has_touch=True)
    phone_requests = []
    phone.on("request", lambda request: phone_requests.append(request.url))
    phone.goto(link)
    expect(phone.get_by_test_id("status-code")).to_have_text("R001")
    expect(phone.locator("#status-headline")).to_have_text("Você é o próximo")
    expect(phone.locator("#status-position")).to_have_text("1º")
    phone.screenshot(path=str(screenshots / "status-waiting-390.png"), full_page=True)
    phone.evaluate("window.notReloaded = true")

    # and a desk calls the ticket
    with clinic_a:
        called = ticket_call_next(desk_id=desk.pk)
    assert called.pk == ticket.pk

    # Then the status page shows the call without a reload
    expect(phone.locator("#status-headline")).to_have_text("Chamada para Guichê 2", timeout=10_000)
    expect(phone.locator("#status-detail")).to_have_text("Dirija-se para lá agora.")
    assert phone.evaluate("window.notReloaded") is True
    phone.screenshot(path=str(screenshots / "status-called-390.png"), full_page=True)
    text = phone.locator("body").inner_text()
    assert "Joana" not in text and "529.982" not in text
    token = link.split("#", 1)[1]
    assert not [url for url in phone_requests if token in url]
    # Nothing overflows the phone's width
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _qr_path(text: str) -> str:
    svg = segno.make(text, error="m").svg_inline(scale=1, border=2, omitsize=True)
    return re.search(r' d="([^"]+)"', svg).group(1)


def test_the_status_page_switches_to_english_and_keeps_the_ticket(
    new_page, clinic_a, clinic_url, screenshots
):
    from queueing.status_token import ticket_status_path

    with clinic_a:
        ticket = factories.waiting(factories.reception())
        path = ticket_status_path(ticket=ticket)
    phone = new_page(locale="pt-BR", viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(clinic_url(clinic_a, path))
    expect(phone.get_by_test_id("status-code")).to_have_text(ticket.display_code)

    phone.get_by_role("button", name="English").click()

    expect(phone.get_by_role("heading", name="Your ticket")).to_be_visible()
    expect(phone.get_by_test_id("status-code")).to_have_text(ticket.display_code)
    expect(phone.locator("#status-headline")).to_have_text("You are next")


def test_a_forged_status_link_says_the_ticket_is_not_found(new_page, clinic_a, clinic_url):
    phone = new_page(locale="pt-BR", viewport=PHONE)

    phone.goto(clinic_url(clinic_a, "/s/#WyJjbGluaWNfYSIsMSw5OTk5OTk5OTk5XQ:forged"))

    expect(phone.get_by_role("heading", name="Senha não encontrada")).to_be_visible()


def test_a_receptionist_reprints_a_ticket_from_the_console(page, clinic_a, clinic_url, screenshots):
    from tests.web.conftest import console_ready, sign_in, staff_user

    with clinic_a:
        ticket = factories.waiting(factories.reception(), reason="disability")
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    console_ready(page)
    row = page.locator(f'[data-ticket="{ticket.pk}"]')

    with page.context.expect_page() as opened:
        row.get_by_role("link", name="Reimprimir").click()

    printable = opened.value
    expect(printable.get_by_test_id("ticket-code")).to_have_text(ticket.display_code)
    expect(printable.get_by_test_id("ticket")).to_contain_text("Prioridade: Pessoa com deficiência")
    expect(printable.get_by_test_id("ticket")).to_contain_text("Reimpressa às")
    expect(printable.get_by_role("button", name="Imprimir")).to_be_visible()
    printable.set_viewport_size({"width": 800, "height": 1000})
    printable.screenshot(path=str(screenshots / "ticket-reprint.png"))


def test_an_ended_ticket_says_so_on_the_phone(new_page, clinic_a, clinic_url, screenshots):
    from django.core import signing

    with clinic_a:
        ticket = factories.waiting(factories.reception())
    # A genuine token (the server's key and salt) whose clinic day was closed an hour ago
    ended = signing.Signer(salt="clinico.ticket-status").sign_object(
        [clinic_a.schema_name, ticket.pk, int(time.time()) - 3600]
    )
    phone = new_page(locale="pt-BR", viewport=PHONE, is_mobile=True, has_touch=True)

    phone.goto(clinic_url(clinic_a, f"/s/#{ended}"))

    expect(phone.get_by_role("heading", name="Esta senha foi encerrada")).to_be_visible()
    expect(phone.get_by_test_id("status-code")).to_be_hidden()
    phone.screenshot(path=str(screenshots / "status-ended-390.png"), full_page=True)


def test_a_clinic_that_registers_at_reception_sends_a_new_cpf_there(
    new_page, clinic_a, clinic_url, screenshots
):
    from tenants.models import Clinic

    Clinic.objects.filter(pk=clinic_a.pk).update(totem_new_patients="reception")
    # A landscape totem (1366×768), the other common shape
    totem = new_page(locale="pt-BR", viewport={"width": 1366, "height": 768})
    totem.goto(clinic_url(clinic_a, f"/totem/#key={clinic_a.totem_key}"))
    totem.keyboard.type(CPF)
    totem.keyboard.press("Enter")
    totem.screenshot(path=str(screenshots / "totem-priority-landscape.png"))

    totem.get_by_role("button", name="Não, atendimento normal").click()

    expect(totem.get_by_role("heading", name="Por favor, dirija-se à recepção")).to_be_visible()
    totem.screenshot(path=str(screenshots / "totem-reception.png"))
    with clinic_a:
        assert not Patient.objects.filter(cpf=CPF).exists()
    # and the next patient starts from an empty CPF
    totem.get_by_role("button", name="Concluir").click()
    expect(totem.locator("#cpf-display")).to_have_text("___.___.___-__")
