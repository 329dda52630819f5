"""Writes of patients: identify-or-register (safe under concurrency) and record corrections."""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from common.rows import ColumnList, columns, from_row
from patients.cpf import cpf_validate
from patients.models import Patient, PatientRecordChange

REGISTRATION_FIELDS = ("full_name", "social_name", "birth_date", "phone", "email")
CORRECTABLE_FIELDS = ("cpf", *REGISTRATION_FIELDS)


def _patient_from_registration(*, cpf: str, registration: dict) -> Patient:
    """An unsaved, validated Patient built from registration data (birth_date may be ISO text)."""
    data = {key: registration.get(key) for key in REGISTRATION_FIELDS}
    if isinstance(data["birth_date"], str) and data["birth_date"]:
        data["birth_date"] = datetime.date.fromisoformat(data["birth_date"])
    patient = Patient(
        cpf=cpf,
        full_name=(data["full_name"] or "").strip(),
        social_name=(data["social_name"] or "").strip(),
        birth_date=data["birth_date"] or None,
        phone=(data["phone"] or "").strip(),
        email=(data["email"] or "").strip(),
    )
    patient.full_clean(validate_unique=False, validate_constraints=False)
    return patient


def patient_registration_validate(*, cpf: str, registration: dict) -> None:
    """Raise ValidationError if `registration` could not register a patient with `cpf`.

    Checked whether or not the CPF is a patient here, so that a caller who may not search
    patients gets the same answer for a registered and an unregistered CPF.
    """
    _patient_from_registration(cpf=cpf, registration=registration)


_COLUMNS, _NAMES = columns(Patient)
_REGISTER_COLUMNS = ColumnList(
    Patient,
    ("cpf", "full_name", "social_name", "birth_date", "phone", "email", "created_at", "updated_at"),
    insert=True,
)
_LOCK_SQL = f"SELECT {_COLUMNS} FROM {Patient._meta.db_table} WHERE cpf = %s FOR UPDATE"
_REGISTER_SQL = f"""
    INSERT INTO {Patient._meta.db_table} ({_REGISTER_COLUMNS.sql()})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (cpf) DO NOTHING
    RETURNING {_COLUMNS}
"""


def _patient_row(sql: str, params: list) -> Patient | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return from_row(Patient, _NAMES, row) if row is not None else None


def patient_lock_or_register(*, cpf: str, registration: dict) -> tuple[Patient | None, bool]:
    """The clinic's patient with `cpf`, row-locked until the transaction ends; registered when new.

    Returns (patient, created); (None, False) when the CPF is unknown and there is no name to
    register it with. The lock makes one visit's work at a time per patient. Concurrent calls
    for the same new CPF register one patient: the insert is `ON CONFLICT (cpf) DO NOTHING`
    (a new row is ours alone until commit), and the loser locks the winner's row once it
    commits. Must run inside a transaction.
    """
    patient = _patient_row(_LOCK_SQL, [cpf])
    if patient is not None:
        return patient, False
    if not (registration or {}).get("full_name"):
        return None, False
    new = _patient_from_registration(cpf=cpf, registration=registration)
    now = timezone.now()
    params = [new.cpf, new.full_name, new.social_name, new.birth_date, new.phone, new.email]
    patient = _patient_row(_REGISTER_SQL, [*params, now, now])
    if patient is not None:
        return patient, True
    return _patient_row(_LOCK_SQL, [cpf]), False


@transaction.atomic
def patient_update(
    *,
    patient: Patient,
    data: dict[str, Any],
    actor: User | None = None,
    partner_client_id: str = "",
) -> Patient:
    """Correct a patient's record; records who changed which fields (not the values)."""
    unknown = set(data) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise ValidationError({field: _("This field cannot be changed.") for field in unknown})
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    changed = []
    for field, value in data.items():
        if field == "cpf":
            try:
                value = cpf_validate(value)
            except ValidationError as error:
                raise ValidationError({"cpf": error.messages}) from None
        elif isinstance(value, str):
            value = value.strip()
        if getattr(patient, field) != value:
            setattr(patient, field, value)
            changed.append(field)
    if not changed:
        return patient
    if "cpf" in changed and Patient.objects.filter(cpf=patient.cpf).exclude(pk=patient.pk).exists():
        raise ValidationError({"cpf": _("Another patient of this clinic already has this CPF.")})
    patient.full_clean(validate_unique=False)
    patient.save()
    PatientRecordChange.objects.create(
        patient=patient,
        changed_fields=sorted(changed),
        actor=actor,
        partner_client_id=partner_client_id,
    )
    return patient


ERASED_FIELDS = ("cpf", *REGISTRATION_FIELDS)


@transaction.atomic
def patient_erase(
    *, patient_id: int, actor: User | None = None, partner_client_id: str = ""
) -> tuple[Patient, str | None]:
    """Erase a patient's identifying fields for good; the row stays for its tickets.

    Returns the erased patient and the CPF it had (None when it was already erased), so that
    the caller can clear copies of it kept elsewhere.
    """
    patient = Patient.objects.select_for_update().get(pk=patient_id)
    old_cpf = patient.cpf
    if patient.anonymised_at is not None:
        return patient, None
    patient.cpf = None
    patient.full_name = ""
    patient.social_name = ""
    patient.birth_date = None
    patient.phone = ""
    patient.email = ""
    patient.anonymised_at = timezone.now()
    patient.save()
    PatientRecordChange.objects.create(
        patient=patient,
        changed_fields=sorted(ERASED_FIELDS),
        actor=actor,
        partner_client_id=partner_client_id,
    )
    return patient, old_cpf


def patient_record_changes_purge(*, before: datetime.datetime) -> int:
    """Delete the records of corrections made before `before`; how many were deleted."""
    deleted, _ = PatientRecordChange.objects.filter(at__lt=before).delete()
    return deleted
