"""The waiting-room panel API: codes and desk names only, for the panel key or staff.

The panel page's cookie and key rotation: tests/clinico/test_panel_page.py and
tests/tenants/test_panel_key.py.
"""

import pytest

from queueing.services import workflow
from tests.conftest import client_for
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_morning(clinic_a):
    """Two desks: Guichê 1 holds a recalled ticket, Guichê 2 finished one; one still waiting."""
    with clinic_a:
        reception = f.reception()
        one, two = f.desk("Guichê 1", reception), f.desk("Guichê 2", reception)
        for _ in range(3):
            f.waiting(reception)
        first = workflow.ticket_call_next(desk_id=one.pk)
        workflow.ticket_recall(ticket_id=first.pk)
        second = workflow.ticket_call_next(desk_id=two.pk)
        workflow.ticket_start(ticket_id=second.pk)
        workflow.ticket_finish(ticket_id=second.pk)
        cpf = first.patient.cpf
    return cpf


def test_the_panel_key_shows_each_desks_call_and_the_latest_calls(clinic_a, busy_morning):
    answer = client_for(clinic_a).get("/api/v1/panel/", HTTP_X_PANEL_KEY=clinic_a.panel_key)
    body = answer.json()
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-store"
    assert [(d["desk"], (d["ticket"] or {}).get("display_code")) for d in body["desks"]] == [
        ("Guichê 1", "R001"),
        ("Guichê 2", None),
    ]
    assert body["desks"][0]["ticket"]["recall_count"] == 1
    assert [(c["display_code"], c["desk"], c["recall"]) for c in body["recent_calls"]] == [
        ("R002", "Guichê 2", False),
        ("R001", "Guichê 1", True),
        ("R001", "Guichê 1", False),
    ]


def test_the_panel_never_shows_a_name_or_cpf(clinic_a, busy_morning):
    staff = client_for(clinic_a)
    staff.force_authenticate(user=f.staff(clinic_a, "receptionist"))
    for answer in (
        client_for(clinic_a).get("/api/v1/panel/", HTTP_X_PANEL_KEY=clinic_a.panel_key),
        staff.get("/api/v1/panel/"),
    ):
        text = answer.content.decode()
        assert answer.status_code == 200
        assert "Ana Souza" not in text
        assert busy_morning not in text
        assert "patient" not in text


def test_a_wrong_or_missing_panel_key_is_refused(clinic_a, clinic_c, busy_morning):
    wrong = client_for(clinic_a).get("/api/v1/panel/", HTTP_X_PANEL_KEY="not-the-key")
    other_clinics = client_for(clinic_a).get("/api/v1/panel/", HTTP_X_PANEL_KEY=clinic_c.panel_key)
    missing = client_for(clinic_a).get("/api/v1/panel/")
    assert wrong.status_code == 403
    assert wrong.json()["errors"][0]["code"] == "invalid_panel_key"
    assert other_clinics.status_code == 403
    assert missing.status_code in (401, 403)
    assert "R001" not in missing.content.decode()


def test_a_panel_key_in_the_url_is_refused_even_when_right(clinic_a, busy_morning):
    answer = client_for(clinic_a).get(f"/api/v1/panel/?key={clinic_a.panel_key}")

    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert (error["attr"], error["code"]) == ("key", "key_in_url")
    assert "X-Panel-Key" in error["detail"]
    assert "R001" not in answer.content.decode()


def test_the_panel_limit_is_checked(clinic_a):
    answer = client_for(clinic_a).get(
        "/api/v1/panel/?limit=500", HTTP_X_PANEL_KEY=clinic_a.panel_key
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["attr"] == "limit"
