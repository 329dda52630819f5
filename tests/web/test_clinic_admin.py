"""A clinic runs itself, in Chromium: the admin invites staff who set their own password from the
e-mail, sets up services, desks and panels; "forgot my password" works; screenshots of each page.

E-mails are sent by the real Celery worker, which writes them to files that the test reads.
"""

import re
import time

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from queueing.models import Desk
from queueing.services.workflow import ticket_call_next
from tenants.selectors import clinic_hostname
from tests.checkin_factories import cpf_from_number
from tests.queueing import factories
from tests.web.conftest import (
    PASSWORD,
    console_ready,
    email_link_wait,
    sign_in,
    staff_user,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "ipe-amarelo-na-praca-9"
WIDE = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}


def _shoot(page, screenshots, name: str) -> None:
    """The page at desktop and phone widths (full length), then back at the desktop width."""
    for label, size in (("desktop", WIDE), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(screenshots / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(WIDE)


def _set_password(page, link: str, password: str) -> None:
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/password/set/[^/]+/set-password/$"))
    page.get_by_label("Nova senha", exact=True).fill(password)
    page.get_by_label("Nova senha de novo").fill(password)
    page.get_by_role("button", name="Salvar senha").click()
    expect(page.get_by_role("heading", name="Senha salva")).to_be_visible()


def test_an_invited_receptionist_sets_a_password_signs_in_and_checks_a_patient_in(
    page, new_page, clinic_a, clinic_url, celery_worker, screenshots
):
    # Given a clinic admin on the staff page
    staff_user(clinic_a, "clinic_admin", "ana@sol.test", full_name="Ana Admin")
    sign_in(page, clinic_url(clinic_a, "/login/"), "ana@sol.test")
    page.get_by_role("link", name="Equipe").first.click()
    expect(page.get_by_role("heading", name="Equipe", exact=True)).to_be_visible()

    # When she invites a receptionist
    started = time.time() - 1
    invite = page.get_by_role("region", name="Convidar alguém")
    invite.get_by_label("E-mail").fill("nina@sol.test")
    invite.get_by_label("Nome completo").fill("Nina Nova")
    invite.get_by_label("Função").select_option("receptionist")
    invite.get_by_role("button", name="Enviar convite").click()
    expect(page.locator(".flash")).to_contain_text("Convite enviado para nina@sol.test")
    member = page.locator(".admin-member[data-email='nina@sol.test']")
    expect(member).to_contain_text("convite pendente")
    _shoot(page, screenshots, "admin-staff")

    # Then the e-mail's link lets the receptionist choose a password
    link = email_link_wait(celery_worker.mail_dir, "nina@sol.test", after=started)
    assert link.startswith(clinic_url(clinic_a, "/password/set/"))
    nina = new_page(locale="pt-BR")
    nina.goto(link)
    _shoot(nina, screenshots, "password-set")
    _set_password(nina, link, NEW_PASSWORD)

    # and she signs in with it and checks a patient in (the real worker issues the ticket)
    sign_in(nina, clinic_url(clinic_a, "/login/"), "nina@sol.test", NEW_PASSWORD)
    console_ready(nina)
    cpf = nina.get_by_label("CPF do paciente")
    cpf.press_sequentially(cpf_from_number(515_151_515))
    cpf.press("Enter")
    nina.get_by_label("Nome completo").fill("Paulo Pereira")
    nina.get_by_label("Data de nascimento").fill("1985-07-02")
    nina.get_by_role("button", name="Fazer check-in").click()
    expect(nina.get_by_test_id("issued-code")).to_have_text("R001", timeout=30_000)
    # and the admin's list no longer says the invitation is pending
    page.reload()
    expect(member).not_to_contain_text("convite pendente")


def test_forgot_password_sets_a_new_one_and_the_old_refresh_token_stops_working(
    page, clinic_a, clinic_url, celery_worker, screenshots
):
    staff_user(clinic_a, "clinician", "caio@sol.test", full_name="Caio Clínico")
    api = APIClient(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    tokens = api.post(
        "/api/v1/auth/token/", {"email": "caio@sol.test", "password": PASSWORD}, format="json"
    ).json()

    started = time.time() - 1
    page.goto(clinic_url(clinic_a, "/login/"))
    page.get_by_role("link", name="Esqueci minha senha").click()
    _shoot(page, screenshots, "password-forgot")
    page.get_by_label("E-mail").fill("caio@sol.test")
    page.get_by_role("button", name="Enviar o link").click()
    expect(page.get_by_role("heading", name="Verifique seu e-mail")).to_be_visible()

    link = email_link_wait(celery_worker.mail_dir, "caio@sol.test", after=started)
    _set_password(page, link, NEW_PASSWORD)
    page.get_by_role("link", name="Entrar").click()
    sign_in(page, clinic_url(clinic_a, "/login/"), "caio@sol.test", NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Fila de hoje")).to_be_visible()

    refused = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["code"] == "password_changed"

    # Signed in, the name in the top bar leads to "change password"
    page.locator(".who").click()
    expect(page.get_by_role("heading", name="Alterar senha")).to_be_visible()
    _shoot(page, screenshots, "password-change")


def test_an_admin_creates_a_service_and_a_desk_and_the_console_calls_from_it(
    page, clinic_a, clinic_url, screenshots
):
    staff_user(clinic_a, "clinic_admin", "ana@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "ana@sol.test")
    page.goto(clinic_url(clinic_a, "/manage/services/"))

    page.get_by_label("Nome", exact=True).fill("Vacinação")
    page.get_by_label("Prefixo da senha").fill("vac")
    page.get_by_label("Espera-alvo (minutos)").fill("15")
    page.get_by_role("button", name="Criar serviço").click()
    expect(page.get_by_test_id("services")).to_contain_text("Vacinação")
    expect(page.get_by_test_id("services")).to_contain_text("VAC")
    _shoot(page, screenshots, "admin-services")
    page.get_by_test_id("services").locator("li", has_text="Vacinação").get_by_role(
        "link", name="Editar"
    ).click()
    _shoot(page, screenshots, "admin-service-edit")

    page.get_by_role("link", name="Guichês").first.click()
    page.get_by_label("Nome", exact=True).fill("Sala de vacina")
    page.get_by_label("Vacinação").check()
    page.get_by_role("button", name="Criar guichê").click()
    expect(page.get_by_test_id("desks")).to_contain_text("Sala de vacina")
    _shoot(page, screenshots, "admin-desks")

    page.get_by_role("link", name="Configurações").first.click()
    _shoot(page, screenshots, "admin-settings")

    # A patient waits for the new service; the new desk calls them from the console
    with clinic_a:
        from queueing.models import Service

        factories.waiting(Service.objects.get(prefix="VAC"))
        desk = Desk.objects.get(name="Sala de vacina")
    page.goto(clinic_url(clinic_a, "/"))
    console_ready(page)
    page.get_by_label("Guichê", exact=True).select_option(str(desk.pk))
    page.get_by_role("button", name="Chamar próximo").click()
    expect(page.get_by_test_id("desk-code")).to_have_text("VAC001")


def test_two_panels_show_their_own_desks_and_a_new_key_signs_the_old_tv_out(
    page, new_page, clinic_a, clinic_url, screenshots
):
    with clinic_a:
        reception = factories.reception()
        consult = factories.service("Consulta", "C")
        ground = factories.desk("Guichê 1", reception)
        room = factories.desk("Consultório 1", consult)
        factories.waiting(reception), factories.waiting(consult)
    staff_user(clinic_a, "clinic_admin", "ana@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "ana@sol.test")
    page.goto(clinic_url(clinic_a, "/manage/panels/"))

    def create_panel(name: str, desk: str) -> str:
        page.get_by_label("Nome", exact=True).fill(name)
        page.get_by_role("group", name="Guichês que mostra").get_by_label(desk).check()
        page.get_by_role("button", name="Criar painel").click()
        link = page.get_by_role("textbox", name="Link do painel").input_value()
        assert re.search(r"/panel/#key=\S{20,}$", link), link
        return link

    ground_link = create_panel("Térreo", "Guichê 1")
    upper_link = create_panel("Primeiro andar", "Consultório 1")
    _shoot(page, screenshots, "admin-panels")
    ground_tv = new_page(locale="pt-BR", viewport={"width": 1280, "height": 720})
    upper_tv = new_page(locale="pt-BR", viewport={"width": 1280, "height": 720})
    ground_tv.goto(ground_link)
    upper_tv.goto(upper_link)
    expect(ground_tv.locator(".panel-clinic")).to_contain_text("Térreo")
    expect(upper_tv.locator(".panel-clinic")).to_contain_text("Primeiro andar")

    # When each desk calls
    with clinic_a:
        ticket_call_next(desk_id=ground.pk)
        ticket_call_next(desk_id=room.pk)

    # Then each TV shows only its own desk's call
    expect(ground_tv.locator("#now-code")).to_have_text("R001", timeout=8_000)
    expect(upper_tv.locator("#now-code")).to_have_text("C001", timeout=8_000)
    expect(ground_tv.locator("#desks")).not_to_contain_text("Consultório 1")
    expect(ground_tv.locator("#recent")).not_to_contain_text("C001")
    expect(upper_tv.locator("#recent")).not_to_contain_text("R001")

    # When the admin makes a new key for the ground floor's panel
    page.goto(clinic_url(clinic_a, "/manage/panels/"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("li[data-panel='Térreo']").get_by_role("button", name="Nova chave e link").click()
    new_link = page.get_by_role("textbox", name="Link do painel").input_value()
    assert new_link != ground_link

    # Then the ground floor's old TV is signed out within a poll, and the other one is not
    expect(ground_tv.get_by_role("alert")).to_be_visible(timeout=8_000)
    expect(ground_tv.locator("#now-code")).to_have_count(0)
    expect(upper_tv.locator("#now-code")).to_have_text("C001")
    # and the new link brings it back
    ground_tv.goto(new_link)
    expect(ground_tv.locator("#now-code")).to_have_text("R001", timeout=8_000)


def test_receptionists_get_the_no_access_page(page, clinic_a, clinic_url, screenshots):
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")

    answer = page.goto(clinic_url(clinic_a, "/manage/staff/"))

    assert answer.status == 403
    expect(page.get_by_role("alert")).to_contain_text("Só os administradores da clínica")
