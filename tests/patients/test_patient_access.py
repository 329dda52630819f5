"""Patient data by need: every principal × every patient operation, with real tokens.

The matrix is docs/roles.md's "Patient data by need". Allowed answers are checked by their body
(what that principal gets to see), refusals by their status and by what they do not reveal.
"""

import datetime
import time

import pytest
import time_machine

from patients.models import Patient
from queueing.services.tickets import ticket_issue
from tests.accounts.conftest import bearer, host_client, manager, partner, sign_in, staff
from tests.queueing import factories

pytestmark = pytest.mark.django_db

R, C, A = "receptionist", "clinician", "clinic_admin"
M, PR, PW = "chain_manager", "partner_read", "partner_read_write"
PRINCIPALS = [R, C, A, M, PR, PW]
RECEPTION = {R, A}

CPF = "52998224725"
MASKED = "***.982.247-**"
RECORD = {
    "cpf": CPF,
    "cpf_masked": MASKED,
    "full_name": "Maria da Silva",
    "social_name": "Maria",
    "display_name": "Maria",
    "birth_date": "1958-03-14",
    "phone": "+55 11 91234-5678",
    "email": "maria@example.com",
}


def api_as(principal: str, clinic):
    """An API client on `clinic`'s host with a real token of a new `principal`."""
    if principal in (R, C, A):
        access = sign_in(staff(clinic, principal), clinic)["access"]
    elif principal == M:
        access = sign_in(manager(clinic.chain))["access"]
    else:
        access = partner([clinic], scope="read" if principal == PR else "read_write")[1]
    return bearer(host_client(clinic), access)


@pytest.fixture
def maria(clinic_a) -> Patient:
    with clinic_a:
        return Patient.objects.create(
            cpf=CPF,
            full_name="Maria da Silva",
            social_name="Maria",
            birth_date=datetime.date(1958, 3, 14),
            phone="+55 11 91234-5678",
            email="maria@example.com",
        )


def whole_record(body: dict, patient: Patient) -> dict:
    assert body["id"] == patient.pk
    assert body["created_at"] and body["updated_at"]
    return {key: value for key, value in body.items() if key in RECORD}


def assert_refused(response) -> None:
    assert response.status_code == 403, (response.status_code, response.content)
    assert response.json()["errors"][0]["code"] == "permission_denied"
    text = response.content.decode()
    assert "Maria" not in text and "982" not in text


# --- search by CPF (in the body) ---------------------------------------------------------------


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_search_by_cpf(clinic_a, maria, principal):
    api = api_as(principal, clinic_a)

    response = api.post("/api/v1/patients/search/", {"cpf": "529.982.247-25"}, format="json")

    if principal in RECEPTION:
        assert response.status_code == 200
        assert [whole_record(body, maria) for body in response.json()] == [RECORD]
    elif principal == PW:
        # A kiosk checking patients in learns the CPF it holds is a patient here, and the name
        # to greet: no contact data, no birth date, no record id to walk from.
        assert response.status_code == 200
        assert response.json() == [{"cpf_masked": MASKED, "display_name": "Maria"}]
    else:
        assert_refused(response)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_a_cpf_in_the_url_is_never_searched(clinic_a, maria, principal):
    api = api_as(principal, clinic_a)

    response = api.get(f"/api/v1/patients/?cpf={CPF}")

    if principal in RECEPTION | {PW}:
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "cpf_in_url"
        assert "Maria" not in response.content.decode()
    else:
        assert_refused(response)


# --- a record by id: read, correct, walk ---------------------------------------------------------


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_read_a_record(clinic_a, maria, principal):
    api = api_as(principal, clinic_a)

    response = api.get(f"/api/v1/patients/{maria.pk}/")

    if principal in RECEPTION:
        assert response.status_code == 200
        assert whole_record(response.json(), maria) == RECORD
    else:
        assert_refused(response)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_correct_a_record(clinic_a, maria, principal):
    api = api_as(principal, clinic_a)

    response = api.patch(
        f"/api/v1/patients/{maria.pk}/", {"phone": "+55 11 98888-7777"}, format="json"
    )

    with clinic_a:
        phone = Patient.objects.get(pk=maria.pk).phone
    if principal in RECEPTION:
        assert response.status_code == 200
        assert whole_record(response.json(), maria) == {**RECORD, "phone": "+55 11 98888-7777"}
        assert phone == "+55 11 98888-7777"
    else:
        assert_refused(response)
        assert phone == "+55 11 91234-5678"


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_walking_patient_ids_reveals_nothing_to_masked_principals(clinic_a, maria, principal):
    api = api_as(principal, clinic_a)

    answers = [api.get(f"/api/v1/patients/{pk}/") for pk in (maria.pk, maria.pk + 1)]

    if principal in RECEPTION:
        assert [a.status_code for a in answers] == [200, 404]
    else:
        # the same refusal whether the id exists or not
        for answer in answers:
            assert_refused(answer)


def test_a_clinician_reaches_a_patient_through_the_queue_by_name_only(clinic_a, maria):
    with clinic_a:
        ticket = ticket_issue(patient=maria, service=factories.reception())

    queue = api_as(C, clinic_a).get("/api/v1/queue/").json()

    tickets = [t for service in queue["services"] for t in service["tickets"]]
    assert [(t["id"], t["patient"]) for t in tickets] == [
        (ticket.pk, {"id": maria.pk, "display_name": "Maria"})
    ]
    assert CPF not in str(queue) and MASKED not in str(queue)


# --- look-ups per principal and minute ---------------------------------------------------------


def test_a_receptionist_gets_60_lookups_a_minute_then_429_with_retry_after(clinic_a, maria):
    api = api_as(R, clinic_a)
    colleague = api_as(R, clinic_a)
    search = {"cpf": CPF}
    start = time.time()

    with time_machine.travel(start, tick=False) as clock:
        served = [api.get(f"/api/v1/patients/{maria.pk}/").status_code for _ in range(30)]
        served += [
            api.post("/api/v1/patients/search/", search, format="json").status_code
            for _ in range(30)
        ]
        limited = api.post("/api/v1/patients/search/", search, format="json")
        also_limited = api.get(f"/api/v1/patients/{maria.pk}/")
        other_person = colleague.get(f"/api/v1/patients/{maria.pk}/")
        clock.shift(61)
        a_minute_later = api.post("/api/v1/patients/search/", search, format="json")

    assert served == [200] * 60
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert "Maria" not in limited.content.decode()
    assert "Wait" in limited.json()["errors"][0]["detail"]
    assert also_limited.status_code == 429
    assert other_person.status_code == 200
    assert a_minute_later.status_code == 200


def test_a_partner_clients_lookups_are_limited_per_client(clinic_a, maria, settings, minute_start):
    settings.CLINICO_PATIENT_LOOKUPS_PER_MINUTE = 3
    kiosk = api_as(PW, clinic_a)
    other_kiosk = api_as(PW, clinic_a)

    def search(api):
        return api.post("/api/v1/patients/search/", {"cpf": CPF}, format="json").status_code

    assert [search(kiosk) for _ in range(4)] == [200, 200, 200, 429]
    assert search(other_kiosk) == 200


# --- the API documents it ------------------------------------------------------------------------


def test_the_api_documents_search_in_the_body_and_the_refused_url_form():
    from tests.accounts.test_openapi import _generate

    schema, problems = _generate("clinico.urls_tenant")

    search = schema["paths"]["/api/v1/patients/search/"]["post"]
    body = search["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "cpf" in schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    assert "parameters" not in search
    assert {"200", "400", "403", "429"} <= set(search["responses"])
    in_url = schema["paths"]["/api/v1/patients/"]["get"]
    assert in_url["deprecated"] is True
    assert "POST /api/v1/patients/search/" in in_url["description"]
    assert [p for p in problems if "patients" in p] == []
