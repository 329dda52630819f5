"""Logs hold no CPF and no panel key.

A receptionist checks patients in at the console and the TV polls the panel, in Chromium,
against a real gunicorn started with deploy/gunicorn.conf.py and a real Celery worker; then
the web process's and the worker's captured logs are read.
"""

import json
import os
import re
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings
from playwright.sync_api import expect

from clinico.celery import app as celery_app
from patients.models import Patient
from tenants.models import Clinic
from tenants.selectors import clinic_hostname
from tests.checkin_factories import cpf_from_number
from tests.database import database_url
from tests.processes import answers_health, free_port, process_running
from tests.web.conftest import ROOT, console_ready, sign_in, staff_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

GUNICORN = Path(sys.executable).with_name("gunicorn")
# A CPF anywhere in a line: 11 digits alone, or formatted; not part of a longer number, a
# decimal fraction (task run times) or a hexadecimal id.
CPF_LIKE = re.compile(r"(?<![\w.])(?:\d{11}|\d{3}\.\d{3}\.\d{3}-\d{2})(?!\w)")


@pytest.fixture
def gunicorn_web(clinic_a, celery_worker):
    """gunicorn with the deployment's config file, on the test database and this run's broker."""
    port = free_port()
    log_path = ROOT / ".run" / f"web-test-gunicorn-{os.getpid()}.log"
    env = {
        "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": celery_app.conf.broker_write_url or celery_app.conf.broker_url,
        "CLINICO_SHARD_QUEUES": str(settings.CLINICO_SHARD_QUEUES),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "4",
    }
    # (no control socket: its default path is shared by every gunicorn of this user)
    command = [
        str(GUNICORN), "clinico.wsgi:application", "--config", "deploy/gunicorn.conf.py",
        "--no-control-socket",
    ]  # fmt: skip
    with process_running(
        command,
        env=env,
        log_path=log_path,
        ready=lambda: answers_health(f"http://127.0.0.1:{port}"),
        what="gunicorn",
    ) as process:
        yield port, process, log_path


def access_lines(log: str) -> list[str]:
    """The web log's access lines as "METHOD PATH STATUS" (gunicorn writes them as JSON)."""
    lines = []
    for raw in log.splitlines():
        if raw.startswith("{"):
            entry = json.loads(raw)
            if entry.get("logger") == "gunicorn.access":
                lines.append(f"{entry['method']} {entry['path']} {entry['status']}")
    return lines


def test_a_console_check_in_and_the_panel_leave_no_cpf_or_key_in_the_logs(
    page, new_page, clinic_a, gunicorn_web, celery_worker
):
    port, web, web_log = gunicorn_web
    base = f"http://{clinic_hostname(clinic=clinic_a)}:{port}"
    key = Clinic.objects.get(pk=clinic_a.pk).panel_key
    cpf = cpf_from_number(424_242_424)
    formatted = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"

    # Given the TV showing the panel from the console's link
    tv = new_page(locale="pt-BR")
    tv.goto(f"{base}/panel/#key={key}")
    expect(tv.locator("#now-desk")).to_have_text("Aguarde ser chamado")

    # When a receptionist checks a new patient in, then the same patient again, as typed
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, f"{base}/login/", "rita@sol.test")
    console_ready(page)
    cpf_field = page.get_by_label("CPF do paciente")
    cpf_field.press_sequentially(cpf)
    cpf_field.press("Enter")
    page.get_by_label("Nome completo").fill("Maria Aparecida da Silva")
    page.get_by_label("Data de nascimento").fill("1990-03-14")
    page.get_by_role("button", name="Fazer check-in").click()
    expect(page.get_by_test_id("issued-code")).to_have_text("R001", timeout=30_000)
    cpf_field.press_sequentially(formatted)
    cpf_field.press("Enter")
    expect(page.locator("#checkin-result")).to_contain_text("Senha emitida", timeout=30_000)
    # and an outdated client still puts the CPF and the key in URLs (both refused)
    # (Python's resolver does not know *.localhost: connect to 127.0.0.1 with a Host header)
    host = {"Host": clinic_hostname(clinic=clinic_a)}
    direct = f"http://127.0.0.1:{port}"
    old_search = requests.get(f"{direct}/api/v1/patients/?cpf={cpf}", headers=host, timeout=10)
    old_panel = requests.get(f"{direct}/api/v1/panel/?key={key}", headers=host, timeout=10)
    old_link = requests.get(f"{direct}/panel/?key={key}", headers=host, timeout=10)
    assert (old_search.status_code, old_panel.status_code, old_link.status_code) in [
        (401, 400, 400),
        (403, 400, 400),
    ]
    tv.wait_for_timeout(4_500)  # two more panel polls
    with clinic_a:
        assert Patient.objects.filter(cpf=cpf).count() == 1

    # Then the logs of the web process (stopped, so flushed) and of the worker ...
    web.terminate()
    web.wait(timeout=30)
    logs = {"web": web_log.read_text(), "worker": celery_worker.log_path.read_text()}
    # ... recorded what happened
    assert access_lines(logs["web"]).count("POST /api/v1/patients/search/ 200") == 2
    assert "POST /api/v1/check-ins/ 202" in access_lines(logs["web"])
    assert "POST /panel/ 303" in access_lines(logs["web"])
    assert access_lines(logs["web"]).count("GET /api/v1/panel/ 200") >= 2
    assert "queueing.checkin_process_task" in logs["worker"]
    assert "succeeded" in logs["worker"]
    # ... and hold no CPF, in any form, and no panel key
    for name, text in logs.items():
        assert cpf not in text, name
        assert formatted not in text, name
        assert CPF_LIKE.findall(text) == [], name
        assert key not in text, name
    # though the outdated client's requests are there, by their paths
    assert any(line.startswith("GET /api/v1/patients/ ") for line in access_lines(logs["web"]))
    assert access_lines(logs["web"]).count("GET /api/v1/panel/ 400") == 1


def test_a_totem_check_in_and_the_status_page_leave_no_cpf_key_or_token_in_the_logs(
    new_page, clinic_a, gunicorn_web, celery_worker
):
    port, web, web_log = gunicorn_web
    base = f"http://{clinic_hostname(clinic=clinic_a)}:{port}"
    key = Clinic.objects.get(pk=clinic_a.pk).totem_key
    cpf = cpf_from_number(535_353_535)
    with clinic_a:
        Patient.objects.create(cpf=cpf, full_name="Ana Souza")

    # Given the totem opened from the console's link
    totem = new_page(locale="pt-BR", viewport={"width": 1080, "height": 1920})
    totem.add_init_script("window.print = () => {};")
    totem.goto(f"{base}/totem/#key={key}")
    # When a known patient types the CPF and takes a regular ticket
    totem.keyboard.type(cpf)
    totem.keyboard.press("Enter")
    totem.get_by_role("button", name="Não, atendimento normal").click()
    expect(totem.get_by_test_id("ticket-code")).to_have_text("R001", timeout=30_000)
    link = totem.get_by_test_id("status-link").inner_text()
    token = link.split("#", 1)[1]
    # and follows the ticket on the phone for a few polls
    phone = new_page(locale="pt-BR", viewport={"width": 390, "height": 844})
    phone.goto(link)
    expect(phone.get_by_test_id("status-code")).to_have_text("R001")
    phone.wait_for_timeout(3_500)

    # Then the web process's log records the requests by their paths ...
    web.terminate()
    web.wait(timeout=30)
    logs = {"web": web_log.read_text(), "worker": celery_worker.log_path.read_text()}
    assert "POST /totem/ 303" in access_lines(logs["web"])
    assert "POST /totem/check-ins/ 202" in access_lines(logs["web"])
    assert "GET /s/ 200" in access_lines(logs["web"])
    assert access_lines(logs["web"]).count("POST /s/state/ 200") >= 2
    # ... and neither log holds the CPF, the totem key or the status token
    for name, text in logs.items():
        assert cpf not in text, name
        assert CPF_LIKE.findall(text) == [], name
        assert key not in text, name
        assert token not in text and token.split(":", 1)[0] not in text, name


def test_a_password_links_token_is_not_in_the_access_log(clinic_a, gunicorn_web):
    from accounts.passwords import password_link_parts

    port, web, web_log = gunicorn_web
    user = staff_user(clinic_a, "receptionist", "nina@sol.test")
    uidb64, token = password_link_parts(user=user)
    host = {"Host": clinic_hostname(clinic=clinic_a)}

    opened = requests.get(
        f"http://127.0.0.1:{port}/password/set/{uidb64}/{token}/",
        headers=host,
        timeout=10,
        allow_redirects=False,
    )

    assert opened.status_code == 302
    assert opened.headers["Location"] == f"/password/set/{uidb64}/set-password/"
    web.terminate()
    web.wait(timeout=30)
    log = web_log.read_text()
    assert f"GET /password/set/{uidb64}/<token>/ 302" in access_lines(log)
    assert token not in log
