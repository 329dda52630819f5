"""The access trail as the API writes it: who is asking (from the request) and what they saw.

A caller may state why it reads a record in the `X-Access-Purpose` header (at most 300
characters); it is kept with the entry.
"""

from collections.abc import Iterable

from accounts.models import User
from accounts.permissions import request_clinic_role
from audit.services import AccessActor, access_record
from common.net import client_address

PURPOSE_HEADER = "HTTP_X_ACCESS_PURPOSE"


def access_actor(request) -> AccessActor:
    """The trail's actor for this request: staff user and role, or partner client; address."""
    user = request.user
    address = client_address(request)
    purpose = request.META.get(PURPOSE_HEADER, "").strip()
    if isinstance(user, User):
        return AccessActor(
            user_id=user.pk,
            user_email=user.email,
            role=request_clinic_role(request) or "chain_manager",
            address=address,
            purpose=purpose,
        )
    return AccessActor(
        role="partner",
        partner_client_id=getattr(user, "client_id", "") or "",
        address=address,
        purpose=purpose,
    )


def access_record_request(
    request, *, action: str, patient_ids: Iterable[int], fields: Iterable[str] = ()
) -> int:
    """Record that this request read or changed these patients' `fields`."""
    return access_record(
        actor=access_actor(request), action=action, patient_ids=patient_ids, fields=fields
    )
