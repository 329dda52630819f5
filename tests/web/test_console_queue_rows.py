"""The console's queue on a reception PC (1366×768), a 1920×1080 screen and a 390×844 phone.

A receptionist reads every name in full, the wait and estimate on one line, the actions in one
row; the confirmations name the patient; no-show and cancel can be undone for a few seconds; a
desk calls a chosen ticket out of order, saying why.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from queueing.models import Ticket, TicketEvent
from queueing.services.tickets import ticket_issue
from tests.queueing import factories
from tests.web.conftest import console_ready, sign_in, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots-q")
PC = {"width": 1366, "height": 768}
TV = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
NAMES = [
    "Maria Aparecida dos Santos Oliveira",
    "José Carlos Pereira",
    "Ana Beatriz Nascimento Ferreira",
    "Francisco de Assis Rodrigues",
    "Antônia Lúcia Gomes",
    "João Pedro Albuquerque Lima",
    "Raimunda Conceição Barbosa",
    "Luiz Fernando Cavalcanti",
    "Francisca das Chagas Sousa",
    "Paulo Henrique Ribeiro",
]

# Per row: the name's box against its text, the state's lines, the actions' rows, the bottom.
ROW_GEOMETRY = """
() => [...document.querySelectorAll('#queue .ticket')].map((row) => {
  const name = row.querySelector('.patient');
  const state = row.querySelector('.ticket-state');
  const tools = [...row.querySelectorAll('.ticket-tools .button')];
  const lineHeight = parseFloat(getComputedStyle(state).lineHeight) || 20;
  return {
    name: name.textContent,
    nameWidth: name.clientWidth,
    nameText: name.scrollWidth,
    stateText: state.textContent.replace(/\\s+/g, ' ').trim(),
    stateLines: Math.round(state.getBoundingClientRect().height / lineHeight),
    stateClipped: state.scrollWidth > state.clientWidth,
    toolRows: new Set(tools.map((b) => Math.round(b.getBoundingClientRect().top))).size,
    tools: tools.length,
    bottom: row.getBoundingClientRect().bottom,
    height: row.getBoundingClientRect().height,
  };
})
"""


def _queue_of_ten(clinic, *, role="receptionist", email="rita@sol.test"):
    with clinic:
        reception = factories.reception()
        desk = factories.desk("Guichê 1", reception)
        for n, name in enumerate(NAMES):
            # The first is pregnant: a priority badge, the widest, in her row
            reason = "pregnant" if n == 0 else ""
            ticket_issue(
                patient=factories.patient(name=name), service=reception, priority_reason=reason
            )
    staff_user(clinic, role, email)
    return reception, desk


def _open_console(page, clinic, clinic_url, desk, viewport, email="rita@sol.test"):
    page.set_viewport_size(viewport)
    sign_in(page, clinic_url(clinic, "/login/"), email)
    console_ready(page)
    page.get_by_label("Guichê", exact=True).select_option(str(desk.pk))
    expect(page.locator("#queue .ticket").first.locator("[data-call-chosen]")).to_be_enabled()


def _assert_rows_readable(rows, *, full_names: bool = True):
    for row in rows:
        assert row["nameWidth"] > 0, row
        if full_names:
            assert row["nameText"] <= row["nameWidth"], f"name cut: {row}"
        assert row["stateLines"] == 1 and not row["stateClipped"], f"wait wraps: {row}"
        assert "Espera estimada" in row["stateText"], row
        assert row["tools"] == 3 and row["toolRows"] == 1, f"actions wrap: {row}"


def test_at_1366_every_name_reads_in_full_and_eight_tickets_fit_on_the_screen(
    page, clinic_a, clinic_url
):
    # Given ten waiting patients with long Brazilian names, and the console on a reception PC
    _reception, desk = _queue_of_ten(clinic_a)
    _open_console(page, clinic_a, clinic_url, desk, PC)
    page.locator("#queue").scroll_into_view_if_needed()
    page.evaluate("() => window.scrollTo(0, 0)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "console-queue-1366x768.png"))

    rows = page.evaluate(ROW_GEOMETRY)

    # Then every name shows in full (its title holds it too), wait and estimate sit on one line
    # and the actions in one row
    assert len(rows) == 10
    _assert_rows_readable(rows)
    assert [r["name"] for r in rows] == NAMES
    first = page.locator("#queue .ticket").first.locator(".patient")
    expect(first).to_have_attribute("title", NAMES[0])
    # and at least eight tickets are on the screen without scrolling
    on_screen = [r for r in rows if r["bottom"] <= PC["height"]]
    assert len(on_screen) >= 8, [round(r["bottom"]) for r in rows]


def test_at_1920_and_on_a_phone_the_rows_stay_readable(page, clinic_a, clinic_url):
    _reception, desk = _queue_of_ten(clinic_a)
    _open_console(page, clinic_a, clinic_url, desk, TV)
    page.screenshot(path=str(SHOTS / "console-queue-1920x1080.png"))
    _assert_rows_readable(page.evaluate(ROW_GEOMETRY))

    # On a 390 px phone the rows take three lines: names up to about thirty letters in full,
    # longer ones ellipsised with the full name in the title; wait and actions on a line each
    page.set_viewport_size(PHONE)
    page.locator("#queue").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "console-queue-390x844.png"))
    page.screenshot(path=str(SHOTS / "console-queue-390x844-full.png"), full_page=True)
    rows = page.evaluate(ROW_GEOMETRY)
    _assert_rows_readable(rows, full_names=False)
    # and nothing runs off the side of the phone
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    for row in rows:
        if len(row["name"]) <= 28:
            assert row["nameText"] <= row["nameWidth"], f"name cut on the phone: {row}"
        assert row["nameWidth"] >= 200, row


def test_cancel_names_the_patient_and_can_be_undone(page, clinic_a, clinic_url):
    _reception, desk = _queue_of_ten(clinic_a)
    _open_console(page, clinic_a, clinic_url, desk, PC)
    row = page.locator("#queue .ticket").nth(1)  # R002, José Carlos Pereira

    # When she asks to cancel R002, the dialog names the ticket and the patient
    row.get_by_role("button", name="Cancelar").click()
    dialog = page.get_by_role("dialog", name="Cancelar senha R002")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("cancel-name")).to_have_text("José Carlos Pereira")
    page.screenshot(path=str(SHOTS / "console-cancel-dialog-1366x768.png"))
    dialog.get_by_label("Motivo").fill("Paciente desistiu")
    dialog.get_by_role("button", name="Cancelar senha").click()

    # Then the ticket leaves the queue, and for a few seconds she can undo it
    toast = page.locator("#undo-toast")
    expect(toast).to_contain_text("Senha R002 · José Carlos Pereira cancelada")
    expect(page.locator("#queue")).not_to_contain_text("R002")
    page.screenshot(path=str(SHOTS / "console-cancel-undo-1366x768.png"))
    toast.get_by_role("button", name="Desfazer").click()

    # and R002 waits again, second in line, as before
    expect(page.locator("#flash")).to_contain_text("Senha R002 · José Carlos Pereira restaurada")
    expect(page.locator("#queue .ticket").nth(1)).to_contain_text("R002")
    with clinic_a:
        ticket = Ticket.objects.get(display_code="R002")
        assert (ticket.status, ticket.cancel_reason) == ("waiting", "")


def test_no_show_asks_first_naming_the_patient_and_can_be_undone(page, clinic_a, clinic_url):
    _reception, desk = _queue_of_ten(clinic_a, role="clinician", email="caio@sol.test")
    _open_console(page, clinic_a, clinic_url, desk, PC, email="caio@sol.test")
    page.get_by_role("button", name="Chamar próximo").click()
    expect(page.get_by_test_id("desk-code")).to_have_text("R001")

    # When he presses "Não compareceu", he is asked first, with the patient's name
    page.locator("#desk-actions").get_by_role("button", name="Não compareceu").click()
    dialog = page.get_by_role("dialog", name="Marcar que não compareceu?")
    expect(dialog.get_by_test_id("no-show-who")).to_have_text(
        "R001 · Maria Aparecida dos Santos Oliveira"
    )
    page.screenshot(path=str(SHOTS / "console-no-show-dialog-1366x768.png"))
    # "Voltar" changes nothing
    dialog.get_by_role("button", name="Voltar").click()
    expect(page.get_by_test_id("desk-code")).to_have_text("R001")
    with clinic_a:
        assert Ticket.objects.get(display_code="R001").status == "called"

    page.locator("#desk-actions").get_by_role("button", name="Não compareceu").click()
    dialog.get_by_role("button", name="Não compareceu").click()
    expect(page.locator("#desk-current")).to_contain_text("Nenhum paciente neste guichê")

    # Then "Desfazer" puts the ticket back at his desk, as it was
    page.locator("#undo-toast").get_by_role("button", name="Desfazer").click()
    expect(page.get_by_test_id("desk-code")).to_have_text("R001")
    expect(page.locator("#desk-current")).to_contain_text("Chamada")
    with clinic_a:
        ticket = Ticket.objects.get(display_code="R001")
        assert (ticket.status, ticket.desk_id) == ("called", desk.pk)
        kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
        assert kinds[-2:] == ["no_show", "restored"]


def test_the_undo_offer_goes_away_after_about_eight_seconds(page, clinic_a, clinic_url):
    _reception, desk = _queue_of_ten(clinic_a)
    _open_console(page, clinic_a, clinic_url, desk, PC)
    page.locator("#queue .ticket").nth(0).get_by_role("button", name="Cancelar").click()
    page.get_by_role("dialog").get_by_label("Motivo").fill("Saiu")
    page.get_by_role("dialog").get_by_role("button", name="Cancelar senha").click()
    toast = page.locator("#undo-toast")
    expect(toast).to_be_visible()
    page.wait_for_timeout(6_000)
    expect(toast).to_be_visible()
    expect(toast).to_be_hidden(timeout=4_000)


def test_a_desk_calls_a_chosen_ticket_out_of_order_with_a_reason(page, clinic_a, clinic_url):
    # Given ten waiting tickets and a desk
    _reception, desk = _queue_of_ten(clinic_a, role="clinician", email="caio@sol.test")
    _open_console(page, clinic_a, clinic_url, desk, PC, email="caio@sol.test")

    # When he presses "Chamar esta" on the fourth row, the dialog names the patient and asks why
    page.locator("#queue .ticket").nth(3).get_by_role("button", name="Chamar esta").click()
    dialog = page.get_by_role("dialog", name="Chamar fora da ordem")
    expect(dialog.get_by_test_id("call-who")).to_have_text("R004 · Francisco de Assis Rodrigues")
    dialog.get_by_role("button", name="Chamar esta senha").click()
    expect(dialog.locator("#call-error")).to_have_text(
        "Diga por que esta senha é chamada fora da ordem."
    )
    dialog.get_by_label("Por que este paciente vai antes").fill("Resultado de exame urgente")
    page.screenshot(path=str(SHOTS / "console-call-chosen-dialog-1366x768.png"))
    dialog.get_by_role("button", name="Chamar esta senha").click()

    # Then R004 is his desk's ticket, ahead of R001…R003, and the call records the reason
    expect(page.get_by_test_id("desk-code")).to_have_text("R004")
    expect(page.locator("#flash")).to_contain_text("R004 · Francisco de Assis Rodrigues")
    # and while he holds it, no other row can be called from this desk
    expect(page.locator("#queue [data-call-chosen]").first).to_be_disabled()
    page.screenshot(path=str(SHOTS / "console-call-chosen-done-1366x768.png"))
    with clinic_a:
        call = TicketEvent.objects.get(ticket__display_code="R004", kind="called")
        assert call.detail == {"out_of_order": True, "reason": "Resultado de exame urgente"}
        assert call.desk_id == desk.pk
        assert Ticket.objects.get(display_code="R001").status == "waiting"
