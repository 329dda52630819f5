import datetime

import pytest

from patients.models import Patient

pytestmark = pytest.mark.django_db


def test_a_patient_written_in_clinic_a_is_invisible_from_clinic_b(clinic_a, clinic_b):
    with clinic_a:
        Patient.objects.create(
            cpf="52998224725", full_name="Maria da Silva", birth_date=datetime.date(1980, 1, 2)
        )
        assert Patient.objects.filter(cpf="52998224725").exists()
    with clinic_b:
        assert not Patient.objects.filter(cpf="52998224725").exists()
        # The same CPF may register separately in another clinic: each clinic owns its records.
        Patient.objects.create(cpf="52998224725", full_name="Maria S.")
        assert Patient.objects.count() == 1
    with clinic_a:
        assert Patient.objects.get(cpf="52998224725").full_name == "Maria da Silva"
