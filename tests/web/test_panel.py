"""The waiting-room TV panel: codes and desks only, refreshed every 2 s, opened with the key.

The console's link carries the key in its fragment (`/panel/#key=…`): the page posts it once
and the TV holds a cookie from then on, so no request the TV sends has the key in its URL.
"""

import re

import pytest
from playwright.sync_api import expect

from queueing.services.workflow import ticket_call_next
from tenants.services import clinic_panel_key_rotate
from tests.queueing import factories
from tests.web.conftest import sign_in, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_desk_call_appears_on_the_panel_without_the_patients_name(
    page, new_page, clinic_a, clinic_url, screenshots
):
    # Given a waiting patient, a desk, the TV panel open and a receptionist at the console
    with clinic_a:
        reception = factories.reception()
        desk = factories.desk("Guichê 3", reception)
        ticket = factories.ticket_issue(
            patient=factories.patient(name="Joana Prado Lima"), service=reception
        )
        cpf = ticket.patient.cpf
    tv = new_page(locale="pt-BR", viewport={"width": 1920, "height": 1080})
    urls = []
    tv.on("request", lambda request: urls.append(request.url))
    tv.goto(clinic_url(clinic_a, f"/panel/#key={clinic_a.panel_key}"))
    expect(tv.locator("#now-desk")).to_have_text("Aguarde ser chamado")
    expect(tv).to_have_url(re.compile(r"/panel/$"))  # the key left the address bar

    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    page.get_by_label("Guichê", exact=True).select_option(str(desk.pk))

    # When the desk calls the next ticket
    page.get_by_role("button", name="Chamar próximo").click()
    expect(page.get_by_test_id("desk-code")).to_have_text("R001")
    expect(page.locator("#desk-current")).to_contain_text("Joana Prado Lima")
    page.screenshot(path=str(screenshots / "console.png"), full_page=True)

    # Then the TV's next poll, made after the call, shows the code and the desk, highlighted
    with tv.expect_request(lambda request: "/api/v1/panel/" in request.url) as next_poll:
        pass
    assert next_poll.value.response().ok
    expect(tv.locator("#now-code")).to_have_text("R001")
    expect(tv.locator("#now-desk")).to_have_text("Guichê 3")
    expect(tv.locator("#now")).to_have_class("now flash-call")
    expect(tv.locator("#desks")).to_contain_text("Guichê 3")
    tv.screenshot(path=str(screenshots / "panel.png"))
    # and never the patient's name or CPF
    text = tv.locator("body").inner_text()
    assert "Joana" not in text
    assert cpf not in text
    assert f"{cpf[:3]}.{cpf[3:6]}" not in text
    # and the key was in no request the TV sent, though it polled many times
    assert sum("/api/v1/panel/" in url for url in urls) >= 2
    assert not [url for url in urls if clinic_a.panel_key in url]


def test_panel_lists_the_last_calls_newest_first(new_page, clinic_a, clinic_url):
    with clinic_a:
        reception = factories.reception()
        desks = [factories.desk(f"Guichê {n}", reception) for n in (1, 2)]
        for _ in range(3):
            factories.waiting(reception)
        ticket_call_next(desk_id=desks[0].pk)
        ticket_call_next(desk_id=desks[1].pk)

    tv = new_page(locale="pt-BR")
    tv.goto(clinic_url(clinic_a, f"/panel/#key={clinic_a.panel_key}"))

    expect(tv.locator("#now-code")).to_have_text("R002")
    expect(tv.locator("#now-desk")).to_have_text("Guichê 2")
    expect(tv.locator("#recent li")).to_have_count(1)
    expect(tv.locator("#recent li").first).not_to_contain_text("R002")
    expect(tv.locator("#recent li").first).to_contain_text("R001")
    expect(tv.locator("#recent li").first).to_contain_text("Guichê 1")


def test_wrong_panel_key_shows_an_error_and_no_calls(new_page, clinic_a, clinic_url):
    tv = new_page()

    tv.goto(clinic_url(clinic_a, "/panel/#key=chave-errada"))

    expect(tv.get_by_role("alert")).to_contain_text("não é válida para esta clínica")
    expect(tv.locator("#now-code")).to_have_count(0)
    expect(tv).to_have_url(re.compile(r"/panel/$"))

    # Without a panel cookie the page is the panel's sign-in page, as on a new TV's first open
    answer = tv.goto(clinic_url(clinic_a, "/panel/"))
    assert answer.status == 200
    expect(tv.get_by_role("alert")).to_contain_text("não tem a chave do painel")


def test_another_clinics_key_does_not_open_this_panel(new_page, clinic_a, clinic_b, clinic_url):
    tv = new_page()

    tv.goto(clinic_url(clinic_a, f"/panel/#key={clinic_b.panel_key}"))

    expect(tv.get_by_role("alert")).to_contain_text("não é válida para esta clínica")
    expect(tv.locator("#now-code")).to_have_count(0)


def test_an_old_link_with_the_key_in_its_query_is_refused(new_page, clinic_a, clinic_url):
    tv = new_page()

    answer = tv.goto(clinic_url(clinic_a, f"/panel/?key={clinic_a.panel_key}"))

    assert answer.status == 400
    expect(tv.get_by_role("alert")).to_contain_text("#key=")
    expect(tv.locator("#now-code")).to_have_count(0)


def test_the_key_can_be_typed_on_the_tv(new_page, clinic_a, clinic_url):
    tv = new_page(locale="pt-BR")
    tv.goto(clinic_url(clinic_a, "/panel/"))

    tv.get_by_label("Chave do painel").fill(clinic_a.panel_key)
    tv.get_by_role("button", name="Abrir painel").click()

    expect(tv.locator("#now-desk")).to_have_text("Aguarde ser chamado")


def test_a_new_key_signs_the_tv_out_until_the_new_link_is_opened(new_page, clinic_a, clinic_url):
    # Given the TV showing the panel
    tv = new_page(locale="pt-BR")
    tv.goto(clinic_url(clinic_a, f"/panel/#key={clinic_a.panel_key}"))
    expect(tv.locator("#now-desk")).to_have_text("Aguarde ser chamado")

    # When a clinic admin makes a new key
    new_key = clinic_panel_key_rotate(clinic=clinic_a)

    # Then within a poll the TV says its key was changed and shows no calls
    expect(tv.get_by_role("alert")).to_contain_text("foi trocada", timeout=8_000)
    expect(tv.locator("#now-code")).to_have_count(0)

    # And the new link brings it back
    tv.goto(clinic_url(clinic_a, f"/panel/#key={new_key}"))
    expect(tv.locator("#now-desk")).to_have_text("Aguarde ser chamado")
