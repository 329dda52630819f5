"""Reads of patients."""

from patients.models import Patient, PatientRecordChange


def patient_find_by_cpf(*, cpf: str) -> Patient | None:
    """The clinic's patient with this CPF (11 digits), or None."""
    return Patient.objects.filter(cpf=cpf).first()


def patient_get(*, patient_id: int) -> Patient | None:
    return Patient.objects.filter(pk=patient_id).first()


def patient_exists(*, cpf: str) -> bool:
    return Patient.objects.filter(cpf=cpf).exists()


def patient_record_changes(*, patient_id: int) -> list[dict]:
    """Who corrected which fields of the patient's record, and when, oldest first."""
    changes = (
        PatientRecordChange.objects.filter(patient_id=patient_id)
        .order_by("at", "id")
        .values("at", "changed_fields", "actor_id", "partner_client_id")
    )
    return [dict(change) for change in changes]
