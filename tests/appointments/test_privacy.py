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


def test_a_patient_booked_for_a_coming_day_is_not_due_for_review(clinic_a, settings):
    import datetime

    from django.utils import timezone

    from appointments.services import appointment_create
    from patients.models import Patient

    settings.CLINICO_PATIENT_REVIEW_AFTER_YEARS = 5
    long_ago = timezone.now() - datetime.timedelta(days=6 * 365)
    with clinic_a:
        booked_cpf, forgotten_cpf = new_cpf(), new_cpf()
        for cpf in (booked_cpf, forgotten_cpf):
            Patient.objects.create(cpf=cpf, full_name="Registrado Há Anos")
        Patient.objects.filter(cpf__in=[booked_cpf, forgotten_cpf]).update(created_at=long_ago)
        appointment_create(
            cpf=booked_cpf,
            service_id=f.reception().pk,
            scheduled_at=timezone.now() + datetime.timedelta(days=3),
        )
        forgotten = Patient.objects.get(cpf=forgotten_cpf)

    response = staff_client(clinic_a, "clinic_admin").get("/api/v1/patients/review/")

    assert response.status_code == 200
    assert [p["id"] for p in response.json()] == [forgotten.pk]
