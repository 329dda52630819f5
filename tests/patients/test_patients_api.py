import datetime

import pytest

from patients.models import Patient, PatientRecordChange
from tests.checkin_factories import staff_client, staff_user

pytestmark = pytest.mark.django_db

CPF = "52998224725"


@pytest.fixture
def patient(clinic_a):
    with clinic_a:
        patient = Patient.objects.create(
            cpf=CPF, full_name="Maria da Silva", birth_date=datetime.date(1958, 3, 14)
        )
    return patient


def _search(client, cpf):
    return client.post("/api/v1/patients/search/", {"cpf": cpf}, format="json")


@pytest.mark.parametrize("typed", ["529.982.247-25", "52998224725"])
def test_reception_finds_a_patient_by_cpf_and_sees_it_in_full(clinic_a, patient, typed):
    response = _search(staff_client(clinic_a, "receptionist"), typed)
    assert response.status_code == 200
    assert [(p["id"], p["cpf"]) for p in response.json()] == [(patient.pk, CPF)]


def test_an_unknown_cpf_finds_nobody(clinic_a, patient):
    response = _search(staff_client(clinic_a), "153.509.460-56")
    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize("typed", ["", "111.111.111-11", "529.982.247-26", "abc", None, 52])
def test_searching_with_an_invalid_cpf_names_the_field(clinic_a, typed):
    response = _search(staff_client(clinic_a), typed)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "cpf"


def test_a_cpf_in_the_url_is_refused_with_the_way_to_search(clinic_a, patient):
    response = staff_client(clinic_a).get("/api/v1/patients/", {"cpf": CPF})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["attr"], error["code"]) == ("cpf", "cpf_in_url")
    assert "POST /api/v1/patients/search/" in error["detail"]
    assert "Maria" not in response.content.decode()


def test_reception_corrects_a_record_and_the_change_is_recorded(clinic_a, patient):
    user = staff_user(clinic_a, "receptionist")
    response = staff_client(clinic_a, user=user).patch(
        f"/api/v1/patients/{patient.pk}/",
        {"full_name": "Maria da Silva Santos", "phone": "+55 11 98888-7777"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["full_name"] == "Maria da Silva Santos"
    with clinic_a:
        change = PatientRecordChange.objects.get(patient=patient)
    assert (change.actor_id, change.changed_fields) == (user.pk, ["full_name", "phone"])


def test_correcting_the_cpf_to_another_patients_cpf_is_refused(clinic_a, patient):
    with clinic_a:
        other = Patient.objects.create(cpf="15350946056", full_name="João")
    response = staff_client(clinic_a).patch(
        f"/api/v1/patients/{other.pk}/", {"cpf": "529.982.247-25"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "cpf"


def test_a_clinician_cannot_correct_a_record(clinic_a, patient):
    response = staff_client(clinic_a, "clinician").patch(
        f"/api/v1/patients/{patient.pk}/", {"full_name": "X"}, format="json"
    )
    assert response.status_code == 403


def test_a_patient_of_clinic_a_is_not_found_on_clinic_b(clinic_a, clinic_b, patient):
    response = staff_client(clinic_b).get(f"/api/v1/patients/{patient.pk}/")
    assert response.status_code == 404
