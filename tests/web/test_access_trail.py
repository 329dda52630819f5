"""The access trail page in a real browser, wide and on a phone."""

import datetime

import pytest
from playwright.sync_api import expect

from patients.models import Patient
from tests.checkin_factories import staff_client
from tests.web.conftest import sign_in, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_opens_the_trail_from_the_console_and_filters_it(
    new_page, clinic_a, clinic_url, screenshots
):
    staff_user(clinic_a, "clinic_admin", "ana@sol.test", full_name="Ana Admin")
    rita = staff_user(clinic_a, "receptionist", "rita@sol.test")
    with clinic_a:
        patient = Patient.objects.create(
            cpf="52998224725", full_name="Maria da Silva", birth_date=datetime.date(1958, 3, 14)
        )
    reader = staff_client(clinic_a, user=rita)
    for _ in range(3):
        reader.get(f"/api/v1/patients/{patient.pk}/", HTTP_X_ACCESS_PURPOSE="conferir cadastro")

    for name, viewport in (("wide", (1366, 800)), ("narrow", (390, 844))):
        page = new_page(viewport={"width": viewport[0], "height": viewport[1]})
        sign_in(page, clinic_url(clinic_a, "/login/"), "ana@sol.test")
        page.get_by_role("link", name="Trilha de acesso").click()

        table = page.get_by_test_id("trail-table")
        expect(table.locator("tbody tr")).to_have_count(3)
        expect(table).to_contain_text("rita@sol.test")
        page.get_by_label("Id do paciente").fill(str(patient.pk))
        page.get_by_label("De", exact=True).fill("2020-01-01")
        page.get_by_role("button", name="Filtrar").click()
        expect(table.locator("tbody tr")).to_have_count(3)
        expect(page.get_by_role("link", name="Baixar CSV")).to_be_visible()
        page.screenshot(path=str(screenshots / f"access-trail-{name}.png"), full_page=True)
