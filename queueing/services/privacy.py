"""A data subject's rights at the clinic (LGPD Art. 18): anonymising a patient on request."""

import dataclasses

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from accounts.models import User
from audit.models import AccessAction
from audit.services import AccessActor, access_record
from patients.models import Patient
from patients.services import ERASED_FIELDS, patient_erase
from queueing.clock import service_day_today
from queueing.models import OPEN_STATUSES, CheckIn, Ticket


@transaction.atomic
def patient_anonymise(
    *, patient_id: int, reason: str, actor: AccessActor, user: User | None = None
) -> Patient:
    """Erase the patient's identifying data everywhere the clinic keeps it; log who and why.

    Tickets, their events and the day's figures stay (they point at the anonymous record).
    Refused while the patient holds an open ticket today: the desk still has to call them.
    """
    if not reason.strip():
        raise ValidationError({"reason": "Say why the record is anonymised (the request)."})
    patient = Patient.objects.select_for_update().filter(pk=patient_id).first()
    if patient is None:
        raise Patient.DoesNotExist
    open_today = Ticket.objects.filter(
        patient_id=patient_id, service_day=service_day_today(), status__in=OPEN_STATUSES
    )
    if open_today.exists():
        raise ValidationError(
            {
                "patient": "This patient holds an open ticket today; anonymise after it is "
                "finished, cancelled or closed by the daily reset."
            },
            code="open_ticket",
        )
    patient, old_cpf = patient_erase(
        patient_id=patient_id, actor=user, partner_client_id=actor.partner_client_id
    )
    copies = Q(patient_id=patient_id)
    if old_cpf:
        copies |= Q(cpf=old_cpf)
    CheckIn.objects.filter(copies).update(cpf="", registration={}, request_hash="")
    access_record(
        actor=dataclasses.replace(actor, purpose=reason.strip()),
        action=AccessAction.ANONYMISE,
        patient_ids=[patient_id],
        fields=ERASED_FIELDS,
    )
    return patient
