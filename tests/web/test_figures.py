"""The figures page, desk breaks in the console, and the dashboard's charts in a real browser."""

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from queueing.services.desk_breaks import desk_break_start
from tenants.live_figures import clinic_live_figures_refresh
from tests.queueing import factories
from tests.queueing.test_figures_report import seed_the_day
from tests.web.conftest import console_ready, manager_user, sign_in, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = (("wide", (1366, 800)), ("narrow", (390, 844)))
DAY = "?from=2026-03-02&to=2026-03-02"


def _totals(page) -> dict[str, str]:
    totals = page.get_by_test_id("totals")
    return {
        name: totals.locator(f"[data-fig={name}]").inner_text()
        for name in ("arrivals", "calls", "served", "no_shows", "cancelled", "wait_p50", "wait_p90")
        + ("service_avg", "within", "break")
    }


# The hand-counted day of tests/queueing/test_figures_report.py, as the page shows it (minutes).
SHOWN_TOTALS = {
    "arrivals": "6",
    "calls": "4",
    "served": "3",
    "no_shows": "1",
    "cancelled": "1",
    "wait_p50": "4,5 min",  # 270 s
    "wait_p90": "9,2 min",  # 552 s
    "service_avg": "4,0 min",  # 240 s
    "within": "75,0%",
    "break": "30,0 min",
}


def test_an_admin_reads_the_days_figures_charts_and_their_csv(
    new_page, clinic_a, clinic_url, screenshots
):
    seed_the_day(clinic_a)
    staff_user(clinic_a, "clinic_admin", "ana@sol.test", full_name="Ana Admin")

    for name, (width, height) in VIEWPORTS:
        page = new_page(viewport={"width": width, "height": height}, accept_downloads=True)
        sign_in(page, clinic_url(clinic_a, "/login/"), "ana@sol.test")
        page.get_by_role("link", name="Ver números").click()
        expect(page.get_by_role("heading", name="Números", exact=True)).to_be_visible()
        page.goto(clinic_url(clinic_a, f"/figures/{DAY}"))

        assert _totals(page) == SHOWN_TOTALS
        # charts are drawn on the server, and their numbers are one click away
        expect(page.locator("svg.chart").first).to_be_visible()
        page.get_by_text("Números", exact=True).first.click()
        hours = page.get_by_test_id("hours-table")
        expect(hours.locator("tbody tr")).to_have_count(2)
        expect(hours.locator("tbody tr").first).to_contain_text("09h")
        services = page.get_by_test_id("services-table")
        expect(services.get_by_role("row", name="Recepção")).to_contain_text("66,7%")
        page.screenshot(path=str(screenshots / f"figures-{name}.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Baixar CSV").click()
    content = Path(download.value.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    from django.utils import translation

    from queueing.selectors.report import CSV_LABELS

    key_of = {}
    for language in ("en", "pt-br"):  # the CSV's words are in the page's language
        with translation.override(language):
            key_of |= {str(label): key for key, label in CSV_LABELS.items()}
    totals_at = next(i for i, row in enumerate(rows) if row in (["Totals"], ["Totais"]))
    head, values = rows[totals_at + 1], rows[totals_at + 2]
    assert {key_of[label]: value for label, value in zip(head, values, strict=True)} == {
        "arrivals": "6",
        "calls": "4",
        "served": "3",
        "no_shows": "1",
        "cancelled": "1",
        "wait_p50_s": "270",
        "wait_p90_s": "552",
        "service_avg_s": "240",
        "within_target_share": "0,75",
        "break_s": "1800",
        "out_of_order_calls": "0",
    }


def test_a_receptionist_gets_the_no_access_page_for_figures(page, clinic_a, clinic_url):
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")

    response = page.goto(clinic_url(clinic_a, "/figures/"))

    assert response.status == 403
    expect(page.locator("main")).to_contain_text("Somente os administradores")


def test_a_manager_reads_a_clinics_figures_from_the_dashboard(
    new_page, clinic_a, clinic_b, public_url, screenshots
):
    seed_the_day(clinic_a)
    with clinic_b:
        for _ in range(3):
            factories.waiting(factories.reception())
        desk_break_start(
            desk_id=factories.desk("Guichê 1", factories.reception()).pk, reason="lunch"
        )
    for clinic in (clinic_a, clinic_b):  # what the refresh task does after each change
        clinic_live_figures_refresh(clinic=clinic)
    manager_user(clinic_a.chain, "gabi@rede-sol.test")

    for name, (width, height) in VIEWPORTS:
        page = new_page(viewport={"width": width, "height": height})
        sign_in(page, public_url("/login/"), "gabi@rede-sol.test")
        totals = page.get_by_test_id("chain-totals")
        expect(totals.locator("[data-total=waiting]")).to_have_text("3")
        expect(totals.locator("[data-total=desks_on_break]")).to_have_text("1")
        row = page.locator(f"tr[data-clinic='{clinic_b.schema_name}']")
        expect(row.locator("[data-fig=waiting]")).to_have_text("3")
        expect(page.locator("svg.chart").first).to_be_visible()
        page.screenshot(path=str(screenshots / f"dashboard-{name}.png"), full_page=True)

    page.locator(f"tr[data-clinic='{clinic_a.schema_name}']").get_by_role(
        "link", name="Números"
    ).click()
    expect(page.get_by_role("heading", name="Números", exact=True)).to_be_visible()
    page.goto(public_url(f"/dashboard/clinics/{clinic_a.schema_name}/figures/{DAY}"))
    assert _totals(page) == SHOWN_TOTALS
    page.screenshot(path=str(screenshots / "figures-manager-narrow.png"), full_page=True)


def _estimates(page) -> list[str]:
    return page.locator("#queue .ticket-waiting .ticket-state").all_inner_texts()


def test_a_desk_on_break_cannot_call_and_the_estimate_rises(
    new_page, clinic_a, clinic_url, screenshots
):
    staff_user(clinic_a, "clinician", "caio@sol.test", full_name="Caio Clínico")
    with clinic_a:
        reception = factories.reception()
        factories.desk("Guichê 1", reception)
        factories.desk("Guichê 2", reception)
        for _ in range(4):
            factories.waiting(reception)

    for name, (width, height) in VIEWPORTS:
        page = new_page(viewport={"width": width, "height": height})
        sign_in(page, clinic_url(clinic_a, "/login/"), "caio@sol.test")
        console_ready(page)
        page.get_by_label("Guichê", exact=True).select_option(label="Guichê 1")
        # two desks open, 5 minutes a patient: rounds of two
        expect(page.locator("#queue .ticket-waiting").nth(2)).to_contain_text("10 min")
        assert [e.split("Espera estimada ")[-1] for e in _estimates(page)] == [
            "5 min",
            "5 min",
            "10 min",
            "10 min",
        ]

        page.get_by_label("Pausa", exact=True).select_option(label="Almoço")
        page.get_by_role("button", name="Iniciar pausa").click()

        expect(page.locator("#break-notice")).to_contain_text("Fechado para pausa (Almoço)")
        expect(page.get_by_role("button", name="Chamar próximo")).to_be_disabled()
        expect(page.locator("#queue .ticket-waiting").nth(3)).to_contain_text("20 min")
        assert [e.split("Espera estimada ")[-1] for e in _estimates(page)] == [
            "5 min",
            "10 min",
            "15 min",
            "20 min",
        ]
        # the API refuses the call too, naming the reason
        refusal = page.evaluate(
            """async (desk) => {
                const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
                const r = await fetch(`/api/v1/desks/${desk}/call-next/`,
                    {method: "POST", headers: {"X-CSRFToken": token}});
                return [r.status, (await r.json()).errors[0].detail];
            }""",
            page.get_by_label("Guichê", exact=True).input_value(),
        )
        # (in the browser's language, English here: the reason as staff read it)
        assert refusal[0] == 409 and "(Lunch)" in refusal[1]
        page.screenshot(path=str(screenshots / f"console-break-{name}.png"), full_page=True)

        page.get_by_role("button", name="Encerrar pausa").click()
        expect(page.get_by_role("button", name="Chamar próximo")).to_be_enabled()
        expect(page.locator("#queue .ticket-waiting").nth(3)).to_contain_text("10 min")


def test_the_panel_shows_a_desk_on_break_as_closed(new_page, clinic_a, clinic_url, screenshots):
    with clinic_a:
        reception = factories.reception()
        lunch = factories.desk("Guichê 1", reception)
        factories.desk("Guichê 2", reception)
        desk_break_start(desk_id=lunch.pk, reason="lunch")
    tv = new_page(locale="pt-BR", viewport={"width": 1366, "height": 800})

    tv.goto(clinic_url(clinic_a, f"/panel/#key={clinic_a.panel_key}"))

    closed = tv.locator("#desks .panel-desk.closed")
    expect(closed).to_have_count(1)
    expect(closed).to_contain_text("Guichê 1")
    expect(closed).to_contain_text("Fechado")
    expect(tv.locator("#desks .panel-desk").nth(1)).not_to_contain_text("Fechado")
    tv.screenshot(path=str(screenshots / "panel-desk-closed.png"))
