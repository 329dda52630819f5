"""Headers and sessions: a Content-Security-Policy without inline script, key-bearing pages never
stored, staff sessions that end when idle, X-Forwarded-Proto believed from trusted proxies only."""

import datetime
import re
from pathlib import Path

import pytest
import time_machine
from django.test import Client

from tenants.selectors import clinic_hostname
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _browser(clinic, role: str = "clinic_admin") -> Client:
    browser = Client(HTTP_HOST=clinic_hostname(clinic=clinic))
    browser.force_login(f.staff(clinic, role))
    return browser


def _directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def test_pages_carry_a_content_security_policy_that_runs_no_inline_script(clinic_a):
    for response in (Client(HTTP_HOST="localhost").get("/login/"), _browser(clinic_a).get("/")):
        directives = _directives(response)
        assert directives["script-src"] == ["'self'"]
        assert directives["object-src"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]


def test_no_template_holds_an_inline_script_or_event_handler():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if inline_script.search(text := path.read_text()) or handler.search(text)
    ]
    assert offenders == []


def _no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_pages_that_carry_keys_or_tokens_are_never_stored(clinic_a):
    admin = _browser(clinic_a)
    with clinic_a:
        from queueing.models import Panel

        panel = Panel.objects.get(is_default=True)
    visitor = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))

    pages = {
        "console": admin.get("/"),
        "panels": admin.get("/manage/panels/"),
        "panel edit": admin.get(f"/manage/panels/{panel.pk}/"),
        "panel": visitor.get("/panel/", {"key": clinic_a.panel_key}),
        "totem": visitor.get("/totem/", {"key": "not-the-key"}),
        "password forgot": visitor.get("/password/forgot/"),
    }

    assert {name: _no_store(response) for name, response in pages.items()} == dict.fromkeys(
        pages, True
    )


def test_a_staff_session_ends_after_the_idle_timeout_and_activity_moves_the_end_on(
    clinic_a, settings
):
    assert settings.SESSION_COOKIE_AGE == settings.CLINICO_STAFF_IDLE_MINUTES * 60 == 30 * 60
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        browser = _browser(clinic_a, "receptionist")
        assert browser.get("/").status_code == 200
        clock.shift(datetime.timedelta(minutes=25))
        assert browser.get("/").status_code == 200  # activity: the session lasts 30 min more
        clock.shift(datetime.timedelta(minutes=25))
        assert browser.get("/").status_code == 200
        clock.shift(datetime.timedelta(minutes=31))
        idle = browser.get("/")

    assert idle.status_code == 302
    assert idle.headers["Location"].startswith("/login/")


def test_a_console_refreshing_itself_does_not_keep_an_unattended_session_alive(clinic_a):
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        browser = _browser(clinic_a, "receptionist")
        assert browser.get("/").status_code == 200  # the receptionist, then nobody
        for _ in range(5):  # the console reads its queue again every few minutes, by itself
            clock.shift(datetime.timedelta(minutes=5))
            assert browser.get("/api/v1/queue/", HTTP_X_CLINICO_BACKGROUND="1").status_code == 200
        clock.shift(datetime.timedelta(minutes=6))  # 31 min after the person's last request
        idle = browser.get("/")

    assert idle.status_code == 302
    assert idle.headers["Location"].startswith("/login/")


@pytest.mark.parametrize(("peer", "secure"), [("203.0.113.9", False), ("10.1.2.3", True)])
def test_x_forwarded_proto_counts_only_from_trusted_proxies(settings, peer, secure):
    settings.CLINICO_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True

    response = Client(HTTP_HOST="localhost").get(
        "/login/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_PROTO="https"
    )

    # Believed, the request came by https and is served; otherwise it is sent to https.
    assert (response.status_code == 200) is secure
    if not secure:
        assert response.status_code == 301
        assert response.headers["Location"] == "https://localhost/login/"


def test_the_api_docs_run_their_script_from_a_file_the_policy_allows(db):
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)

    for path in ("/api/docs/", "/api/redoc/"):
        response = Client(HTTP_HOST="localhost").get(path)
        assert response.status_code == 200
        assert not inline_script.search(response.content.decode()), path


def test_no_form_of_a_page_falls_back_to_putting_its_fields_in_the_url():
    # A form without a method is sent as a GET when its script has not run: a CPF typed into
    # the console's check-in would land in the address bar, the history and the Referer.
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    forms = [
        (path.name, tag)
        for path in templates.rglob("*.html")
        for tag in re.findall(r"<form\b[^>]*>", path.read_text())
    ]
    assert forms
    assert [(name, tag) for name, tag in forms if "method=" not in tag] == []
