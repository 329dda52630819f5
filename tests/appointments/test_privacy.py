"""A patient's data export (LGPD) holds their appointments, and nobody else's."""

import json

import pytest

from tests.appointments.factories import book, local, new_cpf
from tests.checkin_factories import staff_client
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


def test_the_patient_export_holds_their_appointments_with_the_note(clinic_a):
    with clinic_a:
        svc = f.reception()
        cpf = new_cpf()
        mine = book(svc, local(9), cpf=cpf, note="Retorno: trazer exames")
        book(svc, local(10))  # someone else's
        patient_id = mine.patient_id

    response = staff_client(clinic_a, "clinic_admin").get(f"/api/v1/patients/{patient_id}/export/")

    assert response.status_code == 200
    export = json.loads(response.content)
    [appointment] = export["appointments"]
    assert (appointment["id"], appointment["note"]) == (mine.pk, "Retorno: trazer exames")
    assert appointment["status"] == "expected"
