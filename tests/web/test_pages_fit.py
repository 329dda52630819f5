"""Pages that fit the clinic's real screens and read numbers, zones and addresses as people do:
the dashboard and figures tables at 1366 px, pt-BR numbers, Brazil's timezones first, the new
clinic's address as a link, 44 px touch targets on phones and the totem's keypad within reach."""

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from tenants.live_figures import clinic_live_figures_refresh
from tenants.models import ClinicLiveFigures
from tests.queueing import factories
from tests.queueing.test_figures_report import seed_the_day
from tests.web.conftest import axe_check, manager_user, sign_in, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECEPTION_PC = {"width": 1366, "height": 768}
TOTEM = {"width": 1080, "height": 1920}
PHONE = {"width": 390, "height": 844}
SHOTS = "/tmp/shots-x"
MIN_TARGET_PX = 44


def _no_sideways_scroll(page, selector: str) -> None:
    widths = page.locator(selector).evaluate(
        "wrap => ({scroll: wrap.scrollWidth, client: wrap.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], widths


def _right_edge(locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"]


def test_the_dashboards_clinic_table_fits_a_reception_pc_with_pt_br_numbers(
    new_page, clinic_a, clinic_b, public_url
):
    # Given two clinics' live figures, one with a big queue and waits of a fraction of a minute
    with clinic_a:
        factories.waiting(factories.reception())
    for clinic in (clinic_a, clinic_b):
        clinic_live_figures_refresh(clinic=clinic)
    ClinicLiveFigures.objects.filter(clinic=clinic_a).update(
        waiting=1234, called=3, wait_avg_s=24.0, wait_p90_s=42.0
    )
    manager_user(clinic_a.chain, "gabi@rede-sol.test")
    page = new_page(locale="en-US", viewport=RECEPTION_PC)

    # When the manager opens the dashboard on the reception PC and its figures refresh
    sign_in(page, public_url("/login/"), "gabi@rede-sol.test")
    expect(page.locator("[data-live-updated]")).not_to_be_empty()

    # Then every column, the last ones included, is on screen without a sideways scroll
    table = page.get_by_test_id("live-table")
    _no_sideways_scroll(page, ".table-wrap:has([data-testid=live-table])")
    on_break = table.get_by_role("columnheader", name="Guichês em pausa")
    expect(on_break).to_be_in_viewport()
    assert _right_edge(table.get_by_role("columnheader").last) <= RECEPTION_PC["width"]
    # and the numbers read as in Brazil, as drawn and as refreshed by the page's script
    row = page.locator(f"tr[data-clinic='{clinic_a.schema_name}']")
    expect(row.locator("[data-fig=waiting]")).to_have_text("1.234")
    expect(row.locator("[data-fig=wait_avg_min]")).to_have_text("0,4 min")
    expect(row.locator("[data-fig=wait_p90_min]")).to_have_text("0,7 min")
    expect(page.locator("[data-total=waiting]")).to_have_text("1.234")
    # and the clinic's timezone by the name people use
    expect(row).to_contain_text("Brasília (America/Sao_Paulo)")
    page.screenshot(path=f"{SHOTS}/dashboard-table-1366.png", full_page=True)
    axe_check(page)


def test_the_figures_service_table_shows_every_column_at_1366(new_page, clinic_a, clinic_url):
    seed_the_day(clinic_a)
    staff_user(clinic_a, "clinic_admin", "ana@sol.test", full_name="Ana Admin")
    page = new_page(locale="pt-BR", viewport=RECEPTION_PC)
    sign_in(page, clinic_url(clinic_a, "/login/"), "ana@sol.test")

    page.goto(clinic_url(clinic_a, "/figures/?from=2026-03-02&to=2026-03-02"))

    page.screenshot(path=f"{SHOTS}/figures-services-1366.png", full_page=True)
    services = page.get_by_test_id("services-table")
    _no_sideways_scroll(page, ".table-wrap:has([data-testid=services-table])")
    within = services.get_by_role("columnheader", name="Dentro da meta")
    assert _right_edge(within) <= RECEPTION_PC["width"] - 20
    expect(services.get_by_role("row", name="Recepção")).to_contain_text("66,7%")


def test_timezones_list_brazils_zones_first_by_their_cities(new_page, clinic_a, public_url):
    manager_user(clinic_a.chain, "gabi@rede-sol.test")
    admin = Client(HTTP_HOST=clinic_a.domains.first().domain)
    admin.force_login(factories.staff(clinic_a, "clinic_admin"))
    settings_page = admin.get("/manage/settings/").content.decode()
    page = new_page(locale="pt-BR", viewport=RECEPTION_PC)
    sign_in(page, public_url("/login/"), "gabi@rede-sol.test")
    page.get_by_text("Abrir uma nova clínica").click()

    select = page.get_by_label("Fuso horário")
    groups = select.locator("optgroup").evaluate_all("groups => groups.map(g => g.label)")
    options = select.locator("option").evaluate_all(
        "options => options.map(o => [o.value, o.textContent])"
    )

    assert groups == ["Brasil", "Outros fusos horários"]
    assert options[0] == ["America/Sao_Paulo", "Brasília (America/Sao_Paulo)"]
    assert ["America/Manaus", "Manaus (America/Manaus)"] in options[:16]
    assert ["America/Noronha", "Fernando de Noronha (America/Noronha)"] in options[:16]
    assert ["America/Adak", "America/Adak"] in options[16:]
    # the clinic's settings page offers the same list, its own zone chosen
    assert settings_page.index('<optgroup label="Brasil">') < settings_page.index("America/Adak")
    assert re.search(r'<option value="America/Sao_Paulo"[^>]*selected>Brasília', settings_page)


def test_opening_a_clinic_confirms_with_a_link_to_its_address(
    new_page, clinic_a, public_url, celery_worker
):
    from django.db import connection
    from django_tenants.utils import schema_exists

    manager_user(clinic_a.chain, "gabi@rede-sol.test")
    page = new_page(locale="pt-BR", viewport=RECEPTION_PC)
    sign_in(page, public_url("/login/"), "gabi@rede-sol.test")
    try:
        page.get_by_text("Abrir uma nova clínica").click()
        page.get_by_label("Nome").fill("Clínica Walk Norte")
        page.get_by_label("Endereço (slug)").fill("walk_fbay")
        page.get_by_role("button", name="Abrir clínica").click()

        flash = page.locator("#flash")
        expect(flash).to_have_text(
            re.compile(r"^Clínica Walk Norte está aberta em walk-fbay\.localhost:\d+\.$")
        )
        link = flash.get_by_role("link", name=re.compile(r"walk-fbay\.localhost"))
        expect(link).to_have_attribute("href", re.compile(r"^http://walk-fbay\.localhost:\d+/$"))
        page.screenshot(path=f"{SHOTS}/dashboard-opened-1366.png")
        axe_check(page)
    finally:
        if schema_exists("walk_fbay"):
            with connection.cursor() as cursor:
                cursor.execute('DROP SCHEMA "walk_fbay" CASCADE')


def test_an_underscore_address_answers_a_portuguese_page_pointing_at_the_clinic(
    new_page, clinic_a, live_server
):
    port = live_server.url.rsplit(":", 1)[1]
    browser = Client(HTTP_HOST=f"clinic_a.localhost:{port}", HTTP_ACCEPT="text/html")
    program = Client(HTTP_HOST="clinic_a.localhost", HTTP_ACCEPT="application/json")

    page = browser.get("/")
    answer = program.get("/api/v1/me/")

    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert "Endereço não encontrado" in text
    assert f'href="http://clinic-a.localhost:{port}/"' in text
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["detail"] == (
        '"clinic_a.localhost" não é um endereço atendido aqui.'
    )


def _small_targets(page) -> list[dict]:
    return page.evaluate(
        """min => [...document.querySelectorAll('a, button, input, select, summary, [tabindex]')]
          .filter(el => el.offsetParent !== null && el.type !== 'hidden'
                        && !el.closest('.skip-link') && el.tabIndex >= 0)
          .map(el => ({what: el.outerHTML.slice(0, 80), box: el.getBoundingClientRect()}))
          .filter(t => t.box.width < min || t.box.height < min)
          .map(t => ({what: t.what, w: Math.round(t.box.width), h: Math.round(t.box.height)}))""",
        MIN_TARGET_PX,
    )


def test_phone_pages_have_touch_targets_of_at_least_44_px(new_page, clinic_a, clinic_url):
    from queueing.status_token import ticket_status_path

    with clinic_a:
        path = ticket_status_path(ticket=factories.waiting(factories.reception()))
    phone = new_page(locale="pt-BR", viewport=PHONE, has_touch=True, is_mobile=True)

    phone.goto(clinic_url(clinic_a, path))
    expect(phone.locator("#status-headline")).to_have_text("Você é o próximo")
    status_small = _small_targets(phone)
    phone.screenshot(path=f"{SHOTS}/status-targets-390.png", full_page=True)
    phone.goto(clinic_url(clinic_a, "/login/"))
    login_small = _small_targets(phone)
    phone.screenshot(path=f"{SHOTS}/login-targets-390.png", full_page=True)

    assert status_small == []
    assert login_small == []


def test_the_portrait_totems_keypad_sits_in_the_lower_middle_of_the_screen(
    new_page, clinic_a, clinic_url
):
    totem = new_page(locale="pt-BR", viewport=TOTEM)
    totem.goto(clinic_url(clinic_a, f"/totem/#key={clinic_a.totem_key}"))
    expect(totem.get_by_role("heading", name="Bem-vindo! Digite seu CPF")).to_be_visible()

    pad = totem.locator("#step-cpf .keypad").bounding_box()
    display = totem.locator("#cpf-display").bounding_box()
    totem.screenshot(path=f"{SHOTS}/totem-keypad-1080.png")

    assert pad is not None and display is not None
    height = TOTEM["height"]
    # Reach from a seated position: the keys between half and seven-eighths of the screen's
    # height, the number typed just above them.
    assert pad["y"] >= 0.45 * height, pad
    assert pad["y"] + pad["height"] <= 0.88 * height, pad
    assert pad["y"] - (display["y"] + display["height"]) < 200
