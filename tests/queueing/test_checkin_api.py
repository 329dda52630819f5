"""The check-in API, processed in-process (the worker path is in tests/integration)."""

import pytest

from patients.models import Patient
from queueing.models import CheckIn, Desk, Service
from queueing.services.checkins import checkin_process
from tests.checkin_factories import new_patient_body, staff_client

pytestmark = pytest.mark.django_db

CPF = "52998224725"


@pytest.fixture
def reception(clinic_a):
    return staff_client(clinic_a, "receptionist")


@pytest.mark.parametrize("typed", ["529.982.247-25", "52998224725"])
def test_a_formatted_or_plain_cpf_is_accepted(clinic_a, reception, typed):
    response = reception.post("/api/v1/check-ins/", new_patient_body(typed), format="json")
    assert response.status_code == 202
    with clinic_a:
        assert CheckIn.objects.get(pk=response.json()["id"]).cpf == CPF


@pytest.mark.parametrize(
    "typed",
    ["529.982.247-26", "111.111.111-11", "5299822472", "529982247255", "5299822472X", "", None],
    ids=["check-digit", "repeated", "short", "long", "letters", "empty", "null"],
)
def test_an_invalid_cpf_answers_400_naming_the_cpf(clinic_a, reception, typed):
    response = reception.post("/api/v1/check-ins/", new_patient_body(typed), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert [e["attr"] for e in body["errors"]] == ["cpf"]
    assert body["errors"][0]["detail"]
    with clinic_a:
        assert CheckIn.objects.count() == 0


def test_a_missing_cpf_answers_400_naming_the_cpf(reception):
    response = reception.post("/api/v1/check-ins/", {}, format="json")
    assert response.status_code == 400
    assert [e["attr"] for e in response.json()["errors"]] == ["cpf"]


def test_a_new_cpf_needs_name_and_birth_date(clinic_a, reception):
    response = reception.post("/api/v1/check-ins/", {"cpf": CPF}, format="json")
    assert response.status_code == 400
    attrs = sorted(e["attr"] for e in response.json()["errors"])
    assert attrs == ["patient.birth_date", "patient.full_name"]


def test_a_known_patient_checks_in_with_the_cpf_alone(clinic_a, reception):
    with clinic_a:
        Patient.objects.create(cpf=CPF, full_name="Maria da Silva")
    response = reception.post("/api/v1/check-ins/", {"cpf": CPF}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert response.json()["status_url"].endswith(f"/api/v1/check-ins/{response.json()['id']}/")


@pytest.mark.parametrize(
    ("extra", "attr"),
    [
        ({"service": 999999}, "service"),
        ({"priority_reason": "age_60"}, "priority_reason"),
        ({"priority_reason": "vip"}, "priority_reason"),
        ({"patient": {"full_name": "Ana", "birth_date": "3000-01-01"}}, "patient.birth_date"),
        (
            {"patient": {"full_name": "Ana", "birth_date": "1990-01-01", "email": "x"}},
            "patient.email",
        ),
    ],
)
def test_bad_fields_answer_400_naming_the_field(reception, extra, attr):
    body = {**new_patient_body(CPF), **extra}
    response = reception.post("/api/v1/check-ins/", body, format="json")
    assert response.status_code == 400
    assert attr in [e["attr"] for e in response.json()["errors"]]


def test_an_inactive_service_is_refused(clinic_a, reception):
    with clinic_a:
        closed = Service.objects.create(name="Raio-X", prefix="X", is_active=False)
    body = new_patient_body(CPF, service=closed.pk)
    response = reception.post("/api/v1/check-ins/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "service"


def test_a_repeated_idempotency_key_returns_the_same_check_in(clinic_a, reception):
    body = new_patient_body(CPF)
    first = reception.post("/api/v1/check-ins/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = reception.post("/api/v1/check-ins/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == first.json()
    with clinic_a:
        assert CheckIn.objects.count() == 1


def test_an_idempotency_key_reused_for_another_request_answers_422(clinic_a, reception):
    reception.post(
        "/api/v1/check-ins/", new_patient_body(CPF), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    other = new_patient_body("153.509.460-56")
    response = reception.post(
        "/api/v1/check-ins/", other, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "idempotency_key_reused"
    with clinic_a:
        assert CheckIn.objects.count() == 1


def test_the_status_shows_pending_then_the_ticket_with_position_and_wait(clinic_a, reception):
    with clinic_a:
        desk = Desk.objects.create(name="Guichê 1")
        desk.services.add(Service.objects.get(is_default=True))
    created = reception.post("/api/v1/check-ins/", new_patient_body(CPF), format="json").json()
    pending = reception.get(created["status_url"]).json()
    assert (pending["status"], pending["ticket"]) == ("pending", None)
    with clinic_a:
        checkin_process(checkin_id=created["id"])
    queued = reception.get(created["status_url"]).json()
    assert queued["status"] == "queued"
    assert queued["cpf"] == "***.982.247-**"
    ticket = queued["ticket"]
    assert (ticket["display_code"], ticket["service"]["prefix"]) == ("R001", "R")
    assert (ticket["position"], ticket["estimated_wait_minutes"]) == (1, 5)
    # The patient is told the same wait the queue view shows the staff.
    queue = reception.get("/api/v1/queue/").json()
    listed = [t for s in queue["services"] for t in s["tickets"] if t["id"] == ticket["id"]]
    assert listed[0]["position"] == 1
    assert listed[0]["estimated_wait_minutes"] == ticket["estimated_wait_minutes"]


def test_a_priority_ticket_is_ahead_of_earlier_normal_ones(clinic_a, reception):
    ids = []
    for cpf, reason in [(CPF, ""), ("15350946056", ""), ("71428793860", "pregnant")]:
        body = new_patient_body(cpf, priority_reason=reason)
        ids.append(reception.post("/api/v1/check-ins/", body, format="json").json()["id"])
        with clinic_a:
            checkin_process(checkin_id=ids[-1])
    positions = [reception.get(f"/api/v1/check-ins/{i}/").json()["ticket"]["position"] for i in ids]
    assert positions == [2, 3, 1]


def test_a_clinician_reads_check_ins_but_cannot_create_them(clinic_a, reception):
    created = reception.post("/api/v1/check-ins/", new_patient_body(CPF), format="json").json()
    clinician = staff_client(clinic_a, "clinician")
    assert (
        clinician.post("/api/v1/check-ins/", new_patient_body(CPF), format="json").status_code
        == 403
    )
    assert clinician.get(created["status_url"]).status_code == 200


def test_a_check_in_of_clinic_a_is_not_visible_on_clinic_b(clinic_a, clinic_b, reception):
    created = reception.post("/api/v1/check-ins/", new_patient_body(CPF), format="json").json()
    response = staff_client(clinic_b).get(f"/api/v1/check-ins/{created['id']}/")
    assert response.status_code == 404
