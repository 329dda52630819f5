"""Several panels per clinic: each shows only its own desks' calls, opens with its own key, and
a new key signs its old TV out (and no other)."""

import pytest
from django.test import Client

from queueing.models import Panel
from queueing.services.panels import panel_create, panel_delete, panel_key_hash
from queueing.services.workflow import ticket_call_next
from tenants.selectors import clinic_hostname
from tests.conftest import client_for
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_floors(clinic_a):
    """Ground floor: reception desks 1 and 2; first floor: the consulting room. One call each."""
    with clinic_a:
        reception = f.reception()
        consult = f.service("Consulta", "C")
        ground = [f.desk(f"Guichê {n}", reception) for n in (1, 2)]
        room = f.desk("Consultório 1", consult)
        f.waiting(reception), f.waiting(reception), f.waiting(consult)
        for desk in (*ground, room):
            ticket_call_next(desk_id=desk.pk)
        ground_panel, ground_key = panel_create(name="Térreo", desk_ids=[d.pk for d in ground])
        upper_panel, upper_key = panel_create(name="Primeiro andar", service_ids=[consult.pk])
    return {"ground": ground_key, "upper": upper_key, "panels": (ground_panel, upper_panel)}


def _panel(clinic, key: str) -> dict:
    answer = client_for(clinic).get("/api/v1/panel/", HTTP_X_PANEL_KEY=key)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_each_panel_shows_only_its_own_desks_calls(clinic_a, two_floors):
    ground = _panel(clinic_a, two_floors["ground"])
    upper = _panel(clinic_a, two_floors["upper"])
    everything = _panel(clinic_a, clinic_a.panel_key)  # the default panel

    assert [d["desk"] for d in ground["desks"]] == ["Guichê 1", "Guichê 2"]
    assert {c["display_code"] for c in ground["recent_calls"]} == {"R001", "R002"}
    assert ground["panel"]["name"] == "Térreo"
    assert [d["desk"] for d in upper["desks"]] == ["Consultório 1"]
    assert [c["display_code"] for c in upper["recent_calls"]] == ["C001"]
    assert {c["display_code"] for c in everything["recent_calls"]} == {"R001", "R002", "C001"}


def test_staff_see_every_desk_or_one_panels_desks(clinic_a, two_floors, jwt_client):
    staff = jwt_client(clinic_a, "receptionist")
    upper_id = two_floors["panels"][1].pk

    every = staff.get("/api/v1/panel/").json()
    one = staff.get(f"/api/v1/panel/?panel={upper_id}").json()
    unknown = staff.get("/api/v1/panel/?panel=999999")

    assert len(every["desks"]) == 3 and every["panel"] is None
    assert [d["desk"] for d in one["desks"]] == ["Consultório 1"]
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["attr"] == "panel"


def test_a_new_key_signs_out_only_that_panels_tv(clinic_a, two_floors, jwt_client):
    host = clinic_hostname(clinic=clinic_a)
    ground_tv, upper_tv = Client(HTTP_HOST=host), Client(HTTP_HOST=host)
    assert ground_tv.post("/panel/", {"key": two_floors["ground"]}).status_code == 303
    assert upper_tv.post("/panel/", {"key": two_floors["upper"]}).status_code == 303
    ground_panel = two_floors["panels"][0]

    answer = jwt_client(clinic_a, "clinic_admin").post(
        f"/api/v1/panels/{ground_panel.pk}/key/rotate/"
    )

    new_key = answer.json()["key"]
    assert answer.status_code == 200 and answer.json()["panel_url"].endswith(f"#key={new_key}")
    refused = ground_tv.get("/api/v1/panel/")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "panel_key_changed"
    assert ground_tv.get("/panel/").status_code == 403
    assert upper_tv.get("/api/v1/panel/").json()["panel"]["name"] == "Primeiro andar"
    assert _panel(clinic_a, new_key)["panel"]["name"] == "Térreo"
    old = client_for(clinic_a).get("/api/v1/panel/", HTTP_X_PANEL_KEY=two_floors["ground"])
    assert old.status_code == 403


def test_the_tv_cookie_names_its_panel_and_the_page_shows_its_name(clinic_a, two_floors):
    tv = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    tv.post("/panel/", {"key": two_floors["upper"]})

    page = tv.get("/panel/").content.decode()

    assert "Primeiro andar" in page
    assert two_floors["upper"] not in page
    assert tv.get("/api/v1/panel/").json()["panel"]["name"] == "Primeiro andar"


def test_keys_are_stored_only_as_digests(clinic_a, two_floors):
    with clinic_a:
        stored = set(Panel.objects.values_list("key_hash", flat=True))
    assert panel_key_hash(two_floors["ground"]) in stored
    assert two_floors["ground"] not in stored


def test_a_deleted_panels_tv_is_refused_and_the_default_panel_stays(clinic_a, two_floors):
    tv = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    tv.post("/panel/", {"key": two_floors["ground"]})
    with clinic_a:
        panel_delete(panel=two_floors["panels"][0])
        default = Panel.objects.get(is_default=True)
        with pytest.raises(Exception, match="painel padrão"):
            panel_delete(panel=default)

    assert tv.get("/api/v1/panel/").status_code == 403


def test_an_admin_creates_a_panel_over_the_api_and_its_link_opens_it(clinic_a, jwt_client):
    with clinic_a:
        desk = f.desk("Guichê 9", f.reception())
    admin = jwt_client(clinic_a, "clinic_admin")

    created = admin.post(
        "/api/v1/panels/",
        {"name": "Entrada", "desks": [desk.pk], "voice_enabled": True, "voice_rate": "1.5"},
        format="json",
    )
    twin = admin.post("/api/v1/panels/", {"name": "entrada"}, format="json")
    bad = admin.post("/api/v1/panels/", {"name": "Saída", "desks": [999999]}, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["voice_enabled"], body["voice_rate"]) == (True, 1.5)
    assert _panel(clinic_a, body["key"])["panel"] == {
        "id": body["id"],
        "name": "Entrada",
        "voice_enabled": True,
        "voice_rate": 1.5,
    }
    assert twin.status_code == 400 and twin.json()["errors"][0]["attr"] == "name"
    assert bad.status_code == 400 and bad.json()["errors"][0]["attr"] == "desks"


def test_the_migration_turns_the_clinics_single_key_into_its_default_panel(clinic_a):
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    from queueing.panel_access import panel_for_key

    migration = import_module("queueing.migrations.0011_default_panel")
    with clinic_a:
        Panel.objects.all().delete()
        with connection.schema_editor() as editor:
            migration.default_panel_create(apps, editor)
            migration.default_panel_create(apps, editor)  # run twice: still one
        (panel,) = Panel.objects.all()
        assert panel.is_default and not panel.desks.exists()
        assert panel_for_key(key=clinic_a.panel_key) == panel


def test_a_tv_cookie_from_before_panels_keeps_working_until_the_default_key_changes(
    clinic_a,
):
    from django.core import signing
    from django.utils.crypto import salted_hmac

    from tenants.services import clinic_panel_key_rotate

    # A cookie as the single-panel release made it: a keyed hash of the clinic and its key
    legacy = salted_hmac("clinico.panel-cookie", f"{clinic_a.schema_name}:{clinic_a.panel_key}")
    signer = signing.get_cookie_signer(salt="clinico_panel" + "clinico.panel-cookie")
    legacy_cookie = signer.sign(legacy.hexdigest())
    host = clinic_hostname(clinic=clinic_a)
    tv, another_old_tv = Client(HTTP_HOST=host), Client(HTTP_HOST=host)
    tv.cookies["clinico_panel"] = legacy_cookie
    another_old_tv.cookies["clinico_panel"] = legacy_cookie

    before = tv.get("/api/v1/panel/")
    page = tv.get("/panel/")  # renews the cookie as one naming the default panel
    renewed = tv.cookies["clinico_panel"].value
    still = tv.get("/api/v1/panel/")
    clinic_panel_key_rotate(clinic=clinic_a)

    assert before.status_code == 200 and before.json()["panel"]["name"] == "Painel principal"
    assert page.status_code == 200 and renewed != legacy_cookie
    assert still.status_code == 200
    assert tv.get("/api/v1/panel/").status_code == 403  # the default panel's key changed
    assert another_old_tv.get("/api/v1/panel/").status_code == 403
