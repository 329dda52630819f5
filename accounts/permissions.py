"""Who may do what, per host: the API's permission classes.

Views declare what they allow; the permission classes check it against the request's principal,
the host's clinic and live memberships:

    class CheckInCreateApi(APIView):
        allowed_roles = RECEPTION          # clinic roles allowed (ClinicRole values)
        manager_access = False             # chain managers of the clinic's chain may use it (reads)
        partner_access = "write"           # "read", "write" or None (no partner access)
        permission_classes = [ClinicAccess]
"""

from rest_framework.permissions import BasePermission

from accounts.models import ChainMembership, ClinicMembership, ClinicRole, User

RECEPTION = frozenset({ClinicRole.RECEPTIONIST, ClinicRole.CLINIC_ADMIN})
CALLING = frozenset({ClinicRole.RECEPTIONIST, ClinicRole.CLINICIAN, ClinicRole.CLINIC_ADMIN})
ALL_STAFF = CALLING
ADMIN = frozenset({ClinicRole.CLINIC_ADMIN})


def clinic_role_of(*, user: User, clinic) -> str | None:
    """The user's active role at `clinic`, or None."""
    return (
        ClinicMembership.objects.filter(user=user, clinic=clinic, is_active=True)
        .values_list("role", flat=True)
        .first()
    )


def manages_chain(*, user: User, chain_id: int) -> bool:
    return ChainMembership.objects.filter(user=user, chain_id=chain_id, is_active=True).exists()


class ClinicAccess(BasePermission):
    """Staff with an allowed role at the host's clinic, or a chain manager/partner where allowed."""

    message = "You do not have access to this clinic for this action."

    def has_permission(self, request, view) -> bool:
        clinic = getattr(request, "tenant", None)
        user = request.user
        if clinic is None or user is None or not getattr(user, "is_authenticated", False):
            return False
        if not isinstance(user, User):
            return False
        role = clinic_role_of(user=user, clinic=clinic)
        if role is not None:
            return role in getattr(view, "allowed_roles", frozenset())
        if getattr(view, "manager_access", False) and request.method in ("GET", "HEAD", "OPTIONS"):
            return manages_chain(user=user, chain_id=clinic.chain_id)
        return False


def actor_fields(request) -> dict:
    """Who did it, for event rows: the staff user, or the partner client's id."""
    user = request.user
    if isinstance(user, User):
        return {"actor": user, "partner_client_id": ""}
    return {"actor": None, "partner_client_id": getattr(user, "client_id", "") or ""}
