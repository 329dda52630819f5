"""A clinic admin rotates the waiting-room panel's key; the old key and its cookie stop working."""

import hashlib

import pytest
from django.test import Client

from queueing.models import Panel
from tenants.models import Clinic
from tenants.selectors import clinic_hostname

pytestmark = pytest.mark.django_db


def _tv_signed_in(clinic, key: str) -> Client:
    tv = Client(HTTP_HOST=clinic_hostname(clinic=clinic))
    assert tv.post("/panel/", {"key": key}).status_code == 303
    return tv


def test_rotating_the_key_signs_the_old_tv_out_and_the_new_link_signs_it_in(clinic_a, jwt_client):
    old_key = clinic_a.panel_key
    tv = _tv_signed_in(clinic_a, old_key)
    display = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    assert tv.get("/api/v1/panel/").status_code == 200

    answer = jwt_client(clinic_a, "clinic_admin").post("/api/v1/panel/key/rotate/")

    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-store"
    new_key = answer.json()["key"]
    assert new_key != old_key and len(new_key) >= 32
    host = clinic_hostname(clinic=clinic_a)
    assert answer.json()["panel_url"] == f"http://{host}/panel/#key={new_key}"
    # The clinic's row forgets the first key; the default panel keeps only the new key's digest
    assert Clinic.objects.get(pk=clinic_a.pk).panel_key == ""
    with clinic_a:
        default = Panel.objects.get(is_default=True)
    assert default.key_hash == hashlib.sha256(new_key.encode()).hexdigest()
    # The old TV is refused at once, though this process still caches the clinic's old row
    refused = tv.get("/api/v1/panel/")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "panel_key_changed"
    page = tv.get("/panel/")
    assert page.status_code == 403
    assert "foi trocada" in page.content.decode()
    old_header = display.get("/api/v1/panel/", HTTP_X_PANEL_KEY=old_key)
    assert old_header.status_code == 403
    assert tv.post("/panel/", {"key": old_key}).status_code == 403
    # and the new link works
    assert display.get("/api/v1/panel/", HTTP_X_PANEL_KEY=new_key).status_code == 200
    assert _tv_signed_in(clinic_a, new_key).get("/api/v1/panel/").status_code == 200


@pytest.mark.parametrize("role", ["receptionist", "clinician"])
def test_only_a_clinic_admin_may_rotate_the_key(clinic_a, jwt_client, role):
    answer = jwt_client(clinic_a, role).post("/api/v1/panel/key/rotate/")

    assert answer.status_code == 403
    assert Clinic.objects.get(pk=clinic_a.pk).panel_key == clinic_a.panel_key
    assert clinic_a.panel_key not in answer.content.decode()


def test_no_page_shows_a_panel_key_after_it_was_made(clinic_a, jwt_client):
    from accounts.models import ClinicMembership, User

    admin = User.objects.create_user("ana-panel@sol.test", "pw-irrelevant-123")
    ClinicMembership.objects.create(user=admin, clinic=clinic_a, role="clinic_admin")
    new_key = jwt_client(clinic_a, "clinic_admin").post("/api/v1/panel/key/rotate/").json()["key"]
    browser = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    browser.force_login(admin)

    console = browser.get("/").content.decode()
    panels = browser.get("/manage/panels/").content.decode()

    assert "/manage/panels/" in console  # the way to the panels
    for text in (console, panels):
        assert new_key not in text
        assert clinic_a.panel_key not in text
        assert "?key=" not in text
    assert "Painel principal" in panels


def test_the_api_documents_rotation_and_no_key_in_the_panels_url():
    from tests.accounts.test_openapi import _generate

    schema, problems = _generate("clinico.urls_tenant")

    rotate = schema["paths"]["/api/v1/panel/key/rotate/"]["post"]
    assert rotate["responses"]["200"]["content"]["application/json"]["examples"]
    assert "Clinic admins only" in rotate["description"]
    panel = schema["paths"]["/api/v1/panel/"]["get"]
    assert {(p["in"], p["name"]) for p in panel["parameters"]} == {
        ("header", "X-Panel-Key"),
        ("query", "limit"),
        ("query", "panel"),
    }
    assert [p for p in problems if "panel" in p.lower() or "api_clinic" in p] == []
