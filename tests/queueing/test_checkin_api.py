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


# --- who reads which check-in, keys per caller, look-ups ------------------------------------------


def _partner_api(clinic, scope: str = "read_write"):
    from tests.accounts.conftest import bearer, host_client, partner

    client, access = partner([clinic], scope=scope)
    return client, bearer(host_client(clinic), access)


def test_a_partner_gets_404_for_a_check_in_it_did_not_make(clinic_a, reception):
    _client, kiosk = _partner_api(clinic_a)
    _other, other_kiosk = _partner_api(clinic_a)
    by_reception = reception.post("/api/v1/check-ins/", new_patient_body(CPF), format="json")
    by_other = other_kiosk.post("/api/v1/check-ins/", new_patient_body(CPF), format="json")
    own = kiosk.post("/api/v1/check-ins/", new_patient_body(CPF), format="json")

    answers = {
        name: kiosk.get(f"/api/v1/check-ins/{created.json()['id']}/")
        for name, created in (("reception", by_reception), ("other", by_other), ("own", own))
    }

    assert answers["own"].status_code == 200
    assert answers["own"].json()["cpf"] == "***.982.247-**"
    missing = kiosk.get("/api/v1/check-ins/00000000-0000-0000-0000-000000000001/")
    for name in ("reception", "other"):
        assert answers[name].status_code == 404, answers[name].content
        assert answers[name].json() == missing.json()


def test_chain_managers_and_read_partners_get_no_cpf_from_a_check_in(clinic_a, reception):
    from tests.accounts.conftest import bearer, host_client, manager, sign_in

    created = reception.post("/api/v1/check-ins/", new_patient_body(CPF), format="json").json()
    boss = bearer(host_client(clinic_a), sign_in(manager(clinic_a.chain))["access"])

    answer = boss.get(f"/api/v1/check-ins/{created['id']}/")

    assert answer.status_code == 200
    assert answer.json()["cpf"] is None
    assert "982" not in answer.content.decode()


def test_an_idempotency_key_of_another_caller_never_returns_the_first_callers_check_in(
    clinic_a, reception
):
    colleague = staff_client(clinic_a, "receptionist")
    _client, kiosk = _partner_api(clinic_a)
    other = "15350946056"

    first = reception.post(
        "/api/v1/check-ins/", new_patient_body(CPF), format="json", HTTP_IDEMPOTENCY_KEY="k-9"
    )
    by_colleague = colleague.post(
        "/api/v1/check-ins/", new_patient_body(other), format="json", HTTP_IDEMPOTENCY_KEY="k-9"
    )
    by_partner = kiosk.post(
        "/api/v1/check-ins/", new_patient_body(CPF), format="json", HTTP_IDEMPOTENCY_KEY="k-9"
    )
    replay = reception.post(
        "/api/v1/check-ins/", new_patient_body(CPF), format="json", HTTP_IDEMPOTENCY_KEY="k-9"
    )

    assert (first.status_code, by_colleague.status_code, by_partner.status_code) == (202, 202, 202)
    ids = {first.json()["id"], by_colleague.json()["id"], by_partner.json()["id"]}
    assert len(ids) == 3
    assert "Idempotent-Replayed" not in by_partner
    assert (replay.status_code, replay.json()["id"]) == (200, first.json()["id"])
    with clinic_a:
        assert CheckIn.objects.get(pk=by_colleague.json()["id"]).cpf == other


def test_check_ins_by_cpf_count_against_the_patient_lookup_limit(
    clinic_a, reception, settings, minute_start
):
    settings.CLINICO_PATIENT_LOOKUPS_PER_MINUTE = 3
    _client, kiosk = _partner_api(clinic_a)

    statuses = [
        reception.post("/api/v1/check-ins/", new_patient_body(CPF), format="json").status_code
        for _ in range(2)
    ]
    statuses.append(
        reception.post("/api/v1/patients/search/", {"cpf": CPF}, format="json").status_code
    )
    limited = reception.post("/api/v1/check-ins/", new_patient_body(CPF), format="json")
    partner_statuses = [
        kiosk.post("/api/v1/check-ins/", new_patient_body(CPF), format="json").status_code
        for _ in range(4)
    ]

    assert statuses == [202, 202, 200]
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert partner_statuses == [202, 202, 202, 429]
    with clinic_a:
        assert CheckIn.objects.count() == 5


def test_a_partner_check_in_answers_alike_for_a_registered_and_an_unregistered_cpf(clinic_a):
    with clinic_a:
        Patient.objects.create(cpf=CPF, full_name="Maria da Silva")
    _client, kiosk = _partner_api(clinic_a)
    unknown = "15350946056"

    def answer(body):
        response = kiosk.post("/api/v1/check-ins/", body, format="json")
        content = response.json()
        if response.status_code >= 400:
            return response.status_code, [(e["code"], e["attr"]) for e in content["errors"]]
        return response.status_code, sorted(content), content["status"]

    bare = [answer({"cpf": cpf}) for cpf in (CPF, unknown)]
    future = {"full_name": "Ana", "birth_date": "2999-01-01"}
    bad = [answer({"cpf": cpf, "patient": future}) for cpf in (CPF, unknown)]
    whole = [answer(new_patient_body(cpf)) for cpf in (CPF, unknown)]

    assert bare[0] == bare[1]
    assert bare[0][0] == 400
    assert {attr for _code, attr in bare[0][1]} == {"patient.full_name", "patient.birth_date"}
    assert bad[0] == bad[1] and bad[0][0] == 400
    assert whole[0] == whole[1] == (202, ["created_at", "id", "status", "status_url"], "pending")
    with clinic_a:
        assert Patient.objects.get(cpf=CPF).full_name == "Maria da Silva"  # not overwritten


def test_a_partner_never_learns_a_patients_age_or_priority_reason_from_its_check_in(clinic_a):
    import datetime

    with clinic_a:
        Patient.objects.create(
            cpf=CPF, full_name="Maria da Silva", birth_date=datetime.date(1950, 5, 5)
        )
    _client, kiosk = _partner_api(clinic_a)
    body = new_patient_body(CPF)  # the partner says 1990: the clinic knows she is over 60
    created = kiosk.post("/api/v1/check-ins/", body, format="json").json()
    with clinic_a:
        checkin_process(checkin_id=created["id"])

    as_partner = kiosk.get(f"/api/v1/check-ins/{created['id']}/").json()["ticket"]
    ticket_id = as_partner["id"]
    as_staff = staff_client(clinic_a).get(f"/api/v1/tickets/{ticket_id}/").json()
    ticket_as_partner = kiosk.get(f"/api/v1/tickets/{ticket_id}/").json()

    assert (as_staff["priority_tier"], as_staff["priority_reason"]) == (1, "age_60")
    assert (as_partner["priority_tier"], as_partner["priority_reason"]) == (None, None)
    assert (ticket_as_partner["priority_tier"], ticket_as_partner["priority_reason"]) == (
        None,
        None,
    )
