"""Reads of patients."""

from patients.models import Patient


def patient_find_by_cpf(*, cpf: str) -> Patient | None:
    """The clinic's patient with this CPF (11 digits), or None."""
    return Patient.objects.filter(cpf=cpf).first()


def patient_get(*, patient_id: int) -> Patient | None:
    return Patient.objects.filter(pk=patient_id).first()


def patient_exists(*, cpf: str) -> bool:
    return Patient.objects.filter(cpf=cpf).exists()
