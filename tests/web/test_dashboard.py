"""The chain dashboard on the public host: a manager's clinics, live figures, opening a clinic."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_exists
from playwright.sync_api import expect

from tenants.live_figures import clinic_live_figures_refresh
from tenants.models import ClinicDaySummary
from tests.queueing import factories
from tests.web.conftest import email_link_wait, manager_user, sign_in, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_sees_own_chains_clinics_with_live_figures(
    page, clinic_a, clinic_b, clinic_c, public_url, clinic_url, screenshots
):
    # Given two waiting tickets at Sol Paulista and a manager of Rede Sol
    with clinic_a:
        factories.waiting(factories.reception())
        factories.waiting(factories.reception())
    manager_user(clinic_a.chain, "gabi@rede-sol.test")
    for clinic in (clinic_a, clinic_b):  # what the refresh task does after each change
        clinic_live_figures_refresh(clinic=clinic)
    ClinicDaySummary.objects.create(
        clinic=clinic_b,
        service_day=timezone.localdate() - datetime.timedelta(days=1),
        tickets=42,
        served=38,
        no_shows=2,
        cancelled=1,
        expired=1,
        wait_avg_s=600.0,
        closed_at=timezone.now(),
    )

    # When she signs in on the public host
    sign_in(page, public_url("/login/"), "gabi@rede-sol.test")

    # Then she sees her chain's clinics, not Rede Lua's
    expect(page.get_by_role("heading", name="Rede Sol")).to_be_visible()
    table = page.get_by_test_id("live-table")
    expect(table).to_contain_text("Clínica Sol Paulista")
    expect(table).to_contain_text("Clínica Sol Manaus")
    expect(page.locator("body")).not_to_contain_text("Clínica Lua Centro")
    expect(page.locator("body")).not_to_contain_text("Rede Lua")
    # with today's figures, as the clinics' refreshes left them
    row = page.locator(f"tr[data-clinic='{clinic_a.schema_name}']")
    expect(row.locator("[data-fig=waiting]")).to_have_text("2")
    expect(row.locator("[data-fig=served]")).to_have_text("0")
    expect(page.get_by_role("columnheader", name="Aguardando agora")).to_be_visible()
    # and the closed days' summaries
    summaries = page.locator(".summaries")
    expect(summaries.get_by_role("row", name="Clínica Sol Manaus")).to_contain_text("38 / 42")
    expect(summaries.get_by_role("row", name="Clínica Sol Manaus")).to_contain_text("10 min")
    # and each clinic links to its own host
    link = page.get_by_role("link", name="Clínica Sol Paulista")
    expect(link).to_have_attribute("href", clinic_url(clinic_a))
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)


def test_clinic_staff_cannot_use_the_dashboard(page, clinic_a, public_url):
    staff_user(clinic_a, "clinic_admin", "ana@sol.test")

    sign_in(page, public_url("/login/"), "ana@sol.test")

    expect(page.get_by_role("alert")).to_contain_text("E-mail ou senha incorretos")
    expect(page.get_by_text("A equipe de uma clínica entra pelo endereço")).to_be_visible()
    page.goto(public_url("/dashboard/"))
    expect(page).to_have_url(public_url("/login/?next=/dashboard/"))


def test_manager_opens_a_new_clinic_from_the_dashboard_and_its_admin_is_invited(
    page, new_page, clinic_a, public_url, celery_worker
):
    import re
    import time

    started = time.time() - 1
    manager_user(clinic_a.chain, "gabi@rede-sol.test")
    sign_in(page, public_url("/login/"), "gabi@rede-sol.test")
    try:
        page.get_by_text("Abrir uma nova clínica").click()
        page.get_by_label("Nome").fill("Clínica Sol Acre")
        page.get_by_label("Endereço (slug)").fill("Sol Acre")
        page.get_by_role("button", name="Abrir clínica").click()
        # a bad slug is explained beside the field
        expect(page.locator(".provision-form [aria-invalid=true]")).to_have_attribute(
            "name", "slug"
        )

        page.get_by_label("Endereço (slug)").fill("web_sol_acre")
        page.get_by_label("Fuso horário").select_option("America/Rio_Branco")
        page.get_by_label("E-mail do administrador da clínica").fill("chefe@acre.test")
        page.get_by_role("button", name="Abrir clínica").click()

        # The confirmation names the clinic once and links its address
        flash = page.locator("#flash")
        expect(flash).to_have_text(
            re.compile(r"^Clínica Sol Acre está aberta em web-sol-acre\.localhost:\d+\.$")
        )
        expect(flash.get_by_role("link")).to_have_attribute(
            "href", re.compile(r"^http://web-sol-acre\.localhost:\d+/$")
        )
        expect(page.get_by_test_id("live-table")).to_contain_text("Clínica Sol Acre")
        expect(page.get_by_test_id("live-table")).to_contain_text("America/Rio_Branco")

        # The clinic's first admin gets a link on the new clinic's host, chooses a password
        # and manages the clinic
        link = email_link_wait(celery_worker.mail_dir, "chefe@acre.test", after=started)
        assert re.match(r"http://web-sol-acre\.localhost:\d+/password/set/", link), link
        chefe = new_page(locale="pt-BR")
        chefe.goto(link)
        chefe.get_by_label("Nova senha", exact=True).fill("castanha-do-acre-2026")
        chefe.get_by_label("Nova senha de novo").fill("castanha-do-acre-2026")
        chefe.get_by_role("button", name="Salvar senha").click()
        chefe.get_by_role("link", name="Entrar").click()
        sign_in(chefe, chefe.url, "chefe@acre.test", "castanha-do-acre-2026")
        chefe.get_by_role("link", name="Equipe").first.click()
        expect(chefe.get_by_test_id("staff")).to_contain_text("Administrador da clínica")
    finally:
        if schema_exists("web_sol_acre"):
            with connection.cursor() as cursor:
                cursor.execute('DROP SCHEMA "web_sol_acre" CASCADE')
