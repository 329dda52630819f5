"""Services and desks through the API: admins change them, staff and managers read them."""

import pytest

from accounts.models import ChainMembership, User
from queueing.models import Service
from tests.conftest import client_for
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


def _client(clinic, role="clinic_admin"):
    client = client_for(clinic)
    client.force_authenticate(user=f.staff(clinic, role))
    return client


def test_an_admin_creates_an_interleaved_service_and_its_tickets_use_the_prefix(clinic_a):
    admin = _client(clinic_a)
    created = admin.post(
        "/api/v1/services/",
        {
            "name": "Triagem",
            "prefix": "tri",
            "target_wait_minutes": 20,
            "priority_policy": "interleave",
            "interleave_after": 3,
        },
        format="json",
    )
    listed = _client(clinic_a, "receptionist").get("/api/v1/services/")
    with clinic_a:
        ticket = f.waiting(Service.objects.get(pk=created.json()["id"]))
    assert created.status_code == 201
    assert created.json() | {"id": 0} == {
        "id": 0,
        "name": "Triagem",
        "prefix": "TRI",
        "is_active": True,
        "is_default": False,
        "target_wait_minutes": 20,
        "priority_policy": "interleave",
        "interleave_after": 3,
        "appointment_early_minutes": 30,
        "appointment_late_minutes": 15,
        "display_order": 0,
    }
    assert [s["prefix"] for s in listed.json()] == ["R", "TRI"]
    assert ticket.display_code == "TRI001"


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"name": "Triagem", "prefix": "T1"}, "prefix"),
        ({"name": "Triagem", "prefix": "ABCD"}, "prefix"),
        ({"name": "Triagem", "prefix": "R"}, "prefix"),  # the reception's prefix
        ({"name": "recepção", "prefix": "X"}, "name"),  # same name, other case
        ({"name": "Triagem", "prefix": "T", "priority_policy": "interleave"}, "interleave_after"),
        ({"name": "Triagem", "prefix": "T", "interleave_after": 0}, "interleave_after"),
        ({"name": "Triagem", "prefix": "T", "priority_policy": "random"}, "priority_policy"),
        ({"prefix": "T"}, "name"),
    ],
)
def test_a_bad_service_is_refused_with_400_naming_the_field(clinic_a, body, attr):
    answer = _client(clinic_a).post("/api/v1/services/", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["type"] == "validation_error"
    assert answer.json()["errors"][0]["attr"] == attr


def test_patching_a_service_changes_only_what_was_sent(clinic_a):
    with clinic_a:
        triage = f.service("Triagem", "T", target_wait_minutes=25)
    admin = _client(clinic_a)
    changed = admin.patch(
        f"/api/v1/services/{triage.pk}/", {"priority_policy": "interleave"}, format="json"
    )
    fixed = admin.patch(
        f"/api/v1/services/{triage.pk}/",
        {"priority_policy": "interleave", "interleave_after": 2},
        format="json",
    )
    assert changed.status_code == 400
    assert changed.json()["errors"][0]["attr"] == "interleave_after"
    assert fixed.status_code == 200
    assert (fixed.json()["target_wait_minutes"], fixed.json()["interleave_after"]) == (25, 2)


def test_the_default_service_cannot_be_deactivated(clinic_a):
    with clinic_a:
        reception = f.reception()
    answer = _client(clinic_a).patch(
        f"/api/v1/services/{reception.pk}/", {"is_active": False}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["attr"] == "is_active"


def test_an_admin_creates_and_reassigns_desks(clinic_a):
    with clinic_a:
        reception, triage = f.reception(), f.service("Triagem", "T")
    admin = _client(clinic_a)
    created = admin.post(
        "/api/v1/desks/", {"name": "Guichê 1", "services": [reception.pk]}, format="json"
    )
    desk_id = created.json()["id"]
    both = admin.patch(
        f"/api/v1/desks/{desk_id}/", {"services": [reception.pk, triage.pk]}, format="json"
    )
    closed = admin.patch(f"/api/v1/desks/{desk_id}/", {"is_active": False}, format="json")
    listed = _client(clinic_a, "clinician").get("/api/v1/desks/")
    assert created.status_code == 201
    assert created.json()["services"] == [reception.pk]
    assert both.json()["services"] == sorted([reception.pk, triage.pk])
    assert closed.json()["is_active"] is False
    assert [(d["name"], d["is_active"]) for d in listed.json()] == [("Guichê 1", False)]


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"name": "Guichê 1", "services": []}, "services"),
        ({"name": "Guichê 1", "services": [999999]}, "services"),
        ({"name": "", "services": [1]}, "name"),
        ({"name": "guichê 9", "services": "x"}, "services"),
    ],
)
def test_a_bad_desk_is_refused_with_400_naming_the_field(clinic_a, body, attr):
    answer = _client(clinic_a).post("/api/v1/desks/", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["attr"] == attr


def test_a_duplicate_desk_name_is_refused(clinic_a):
    with clinic_a:
        f.desk("Guichê 1", f.reception())
        reception_id = f.reception().pk
    answer = _client(clinic_a).post(
        "/api/v1/desks/", {"name": "guichê 1", "services": [reception_id]}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["attr"] == "name"


@pytest.mark.parametrize("role", ["receptionist", "clinician"])
def test_only_clinic_admins_change_services_and_desks(clinic_a, role):
    staff = _client(clinic_a, role)
    service = staff.post("/api/v1/services/", {"name": "X", "prefix": "X"}, format="json")
    desk = staff.post("/api/v1/desks/", {"name": "X", "services": [1]}, format="json")
    read = staff.get("/api/v1/services/")
    assert (service.status_code, desk.status_code, read.status_code) == (403, 403, 200)


def test_chain_managers_read_but_do_not_change_the_setup(clinic_a):
    manager = User.objects.create_user("gestor@test.clinico", "pw-irrelevant-123")
    ChainMembership.objects.create(user=manager, chain=clinic_a.chain)
    client = client_for(clinic_a)
    client.force_authenticate(user=manager)
    assert client.get("/api/v1/desks/").status_code == 200
    assert client.post("/api/v1/services/", {"name": "X", "prefix": "X"}).status_code == 403


def test_an_admin_sets_a_service_s_appointment_window_and_a_negative_one_names_the_field(
    clinic_a, jwt_client
):
    client = jwt_client(clinic_a, "clinic_admin")
    with clinic_a:
        service_id = Service.objects.get(is_default=True).pk

    changed = client.patch(
        f"/api/v1/services/{service_id}/",
        {"appointment_early_minutes": 45, "appointment_late_minutes": 5},
        format="json",
    )
    refused = client.patch(
        f"/api/v1/services/{service_id}/", {"appointment_late_minutes": -1}, format="json"
    )

    assert changed.status_code == 200, changed.content
    assert (
        changed.json()["appointment_early_minutes"],
        changed.json()["appointment_late_minutes"],
    ) == (45, 5)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["attr"] == "appointment_late_minutes"
    with clinic_a:
        service = Service.objects.get(pk=service_id)
    assert (service.appointment_early_minutes, service.appointment_late_minutes) == (45, 5)


def test_a_prefix_with_a_trailing_newline_is_refused_by_the_service(clinic_a):
    from django.core.exceptions import ValidationError

    from queueing.services.setup import service_create

    with clinic_a, pytest.raises(ValidationError) as refused:
        service_create(name="Triagem", prefix="AB\n")

    assert "prefix" in refused.value.message_dict
