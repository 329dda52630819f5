"""Every page passes axe-core (WCAG 2.1 AA: no serious or critical violation) on its real screen,
and the console and the totem can be used with the keyboard alone."""

import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from queueing.models import Panel
from queueing.status_token import ticket_status_path
from tests.queueing import factories
from tests.web.conftest import axe_check, console_ready, manager_user, sign_in, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECEPTION_PC = {"width": 1366, "height": 768}
TV = {"width": 1920, "height": 1080}
TOTEM = {"width": 1080, "height": 1920}
PHONE = {"width": 390, "height": 844}
SHOTS = "/tmp/shots-x"


def _shot(page, name: str) -> None:
    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_the_sign_in_and_password_pages_pass_axe_on_a_phone(new_page, clinic_a, clinic_url):
    phone = new_page(locale="pt-BR", viewport=PHONE)
    user = staff_user(clinic_a, "receptionist", "rita@sol.test")
    for name, path in (
        ("login-390", "/login/"),
        ("password-forgot-390", "/password/forgot/"),
        (
            "password-set-390",
            f"/password/set/{urlsafe_base64_encode(force_bytes(user.pk))}/"
            f"{default_token_generator.make_token(user)}/",
        ),
    ):
        phone.goto(clinic_url(clinic_a, path))
        _shot(phone, name)
        axe_check(phone)


def test_the_staff_pages_pass_axe_at_1366(new_page, clinic_a, clinic_url):
    with clinic_a:
        reception = factories.reception()
        desk = factories.desk("Guichê 1", reception)
        factories.waiting(reception)
        factories.waiting(reception, reason="pregnant")
        ticket = factories.waiting(reception)
        panel = Panel.objects.get(is_default=True)
        service_id = reception.pk
    staff_user(clinic_a, "clinic_admin", "ana@sol.test", full_name="Ana Admin")
    page = new_page(locale="pt-BR", viewport=RECEPTION_PC)
    sign_in(page, clinic_url(clinic_a, "/login/"), "ana@sol.test")
    console_ready(page)
    _shot(page, "console-1366")
    axe_check(page, ready="#queue-updated")
    for name, path in (
        ("services-1366", "/manage/services/"),
        ("service-1366", f"/manage/services/{service_id}/"),
        ("desks-1366", "/manage/desks/"),
        ("desk-1366", f"/manage/desks/{desk.pk}/"),
        ("staff-1366", "/manage/staff/"),
        ("panels-1366", "/manage/panels/"),
        ("panel-edit-1366", f"/manage/panels/{panel.pk}/"),
        ("settings-1366", "/manage/settings/"),
        ("figures-1366", "/figures/"),
        ("access-trail-1366", "/privacy/access-trail/"),
        ("ticket-print-1366", f"/tickets/{ticket.pk}/print/"),
        ("password-change-1366", "/password/change/"),
    ):
        page.goto(clinic_url(clinic_a, path))
        _shot(page, name)
        axe_check(page)


def test_the_panel_passes_axe_on_the_tv(new_page, clinic_a, clinic_url):
    tv = new_page(locale="pt-BR", viewport=TV)
    tv.goto(clinic_url(clinic_a, f"/panel/#key={clinic_a.panel_key}"))
    expect(tv).to_have_url(re.compile(r"/panel/$"))
    expect(tv.locator("#now-desk")).to_have_text("Aguarde ser chamado")
    _shot(tv, "panel-1920")
    axe_check(tv, ready="#now-desk")


def test_the_totem_passes_axe_in_portrait(new_page, clinic_a, clinic_url):
    totem = new_page(locale="pt-BR", viewport=TOTEM)
    totem.goto(clinic_url(clinic_a, f"/totem/#key={clinic_a.totem_key}"))
    expect(totem.get_by_role("heading", name="Bem-vindo! Digite seu CPF")).to_be_visible()
    _shot(totem, "totem-1080")
    axe_check(totem)


def test_the_status_page_passes_axe_on_a_phone(new_page, clinic_a, clinic_url):
    with clinic_a:
        ticket = factories.waiting(factories.reception())
        path = ticket_status_path(ticket=ticket)
    phone = new_page(locale="pt-BR", viewport=PHONE)
    phone.goto(clinic_url(clinic_a, path))
    expect(phone.locator("#status-headline")).to_have_text("Você é o próximo")
    _shot(phone, "status-390")
    axe_check(phone, url=clinic_url(clinic_a, path), ready="#status-headline")


def test_the_dashboard_passes_axe_at_1366(new_page, clinic_a, clinic_b, public_url):
    manager_user(clinic_a.chain, "gabi@rede-sol.test")
    page = new_page(locale="pt-BR", viewport=RECEPTION_PC)
    sign_in(page, public_url("/login/"), "gabi@rede-sol.test")
    expect(page.get_by_role("heading", name="Rede Sol")).to_be_visible()
    _shot(page, "dashboard-1366")
    axe_check(page)


def test_the_pages_after_a_form_pass_axe(new_page, clinic_a, clinic_url, public_url):
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    manager_user(clinic_a.chain, "gabi@rede-sol.test")
    phone = new_page(locale="pt-BR", viewport=PHONE)
    phone.goto(clinic_url(clinic_a, "/password/forgot/"))

    def forgot(copy):
        copy.get_by_label("E-mail").fill("rita@sol.test")
        copy.get_by_role("button").last.click()
        copy.wait_for_load_state()
        copy.screenshot(path=f"{SHOTS}/password-sent-390.png", full_page=True)

    axe_check(phone, prepare=forgot)

    # A sign-in refused, and the no-access page of a receptionist opening the figures
    page = new_page(locale="pt-BR", viewport=RECEPTION_PC)

    def refused(copy):
        copy.get_by_label("E-mail").fill("rita@sol.test")
        copy.get_by_label("Senha").fill("not-her-password")
        copy.get_by_role("button", name="Entrar").click()
        expect(copy.get_by_role("alert")).to_be_visible()

    page.goto(clinic_url(clinic_a, "/login/"))
    axe_check(page, prepare=refused)
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    page.goto(clinic_url(clinic_a, "/figures/"))
    _shot(page, "no-access-1366")
    axe_check(page)

    # The dashboard's form to open a clinic, open and with its errors shown
    manager = new_page(locale="pt-BR", viewport=RECEPTION_PC)
    sign_in(manager, public_url("/login/"), "gabi@rede-sol.test")

    def open_clinic_errors(copy):
        copy.get_by_text("Abrir uma nova clínica").click()
        copy.get_by_role("button", name="Abrir clínica").click()
        expect(copy.locator(".provision-form [aria-invalid=true]").first).to_be_visible()
        copy.screenshot(path=f"{SHOTS}/dashboard-open-errors-1366.png", full_page=True)

    axe_check(manager, prepare=open_clinic_errors)


def test_every_totem_step_passes_axe_in_portrait(new_page, clinic_a, clinic_url):
    with clinic_a:
        factories.service("Exames", "E")
    totem = new_page(locale="pt-BR", viewport=TOTEM)
    totem.goto(clinic_url(clinic_a, f"/totem/#key={clinic_a.totem_key}"))
    expect(totem.get_by_role("heading", name="Bem-vindo! Digite seu CPF")).to_be_visible()

    def to_services(copy):
        copy.keyboard.type("52998224725")
        copy.keyboard.press("Enter")
        expect(copy.get_by_role("heading", name="Qual atendimento você procura?")).to_be_visible()
        copy.screenshot(path=f"{SHOTS}/totem-service-1080.png")

    def to_priority(copy):
        to_services(copy)
        copy.locator("#step-service [data-service]").first.click()
        expect(copy.locator("#step-priority")).to_be_visible()
        copy.screenshot(path=f"{SHOTS}/totem-priority-1080.png")

    def to_registration(copy):
        to_priority(copy)
        copy.locator("#step-priority .totem-none").click()
        expect(copy.locator("#step-register")).to_be_visible()
        copy.screenshot(path=f"{SHOTS}/totem-register-1080.png")

    for prepare in (to_services, to_priority, to_registration):
        axe_check(totem, prepare=prepare)


def test_the_screens_sign_in_pages_pass_axe(new_page, clinic_a, clinic_url):
    for screen, viewport in (("panel", TV), ("totem", TOTEM)):
        tab = new_page(locale="pt-BR", viewport=viewport)
        tab.goto(clinic_url(clinic_a, f"/{screen}/"))
        key_label = "Chave do painel" if screen == "panel" else "Chave do totem"
        expect(tab.get_by_label(key_label)).to_be_visible()
        _shot(tab, f"{screen}-sign-in")
        axe_check(tab)
