"""Writes of the access trail: one entry per read or change of patient data; the retention purge."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from audit.models import AccessEntry


@dataclass(frozen=True)
class AccessActor:
    """Who reads or changes patient data, from where, and why (as the caller stated it)."""

    user_id: int | None = None
    user_email: str = ""
    role: str = ""
    partner_client_id: str = ""
    address: str = ""
    purpose: str = ""


def access_record(
    *, actor: AccessActor, action: str, patient_ids: Iterable[int], fields: Iterable[str] = ()
) -> int:
    """Append one trail entry per patient (one INSERT for all of them); how many were written."""
    field_list = sorted(fields)
    entries = [
        AccessEntry(
            user_id=actor.user_id,
            user_email=actor.user_email,
            role=actor.role,
            partner_client_id=actor.partner_client_id,
            address=actor.address[:45],
            purpose=actor.purpose[:300],
            patient_id=patient_id,
            action=action,
            fields=field_list,
        )
        for patient_id in patient_ids
    ]
    if entries:
        AccessEntry.objects.bulk_create(entries)
    return len(entries)


def access_trail_purge(*, before: datetime.datetime) -> int:
    """Delete trail entries older than `before` (the table refuses younger than 183 days)."""
    deleted, _ = AccessEntry.objects.filter(at__lt=before).delete()
    return deleted
