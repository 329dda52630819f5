"""Who may do what, per host: the API's permission classes.

Views declare what they allow; the permission classes check it against the request's principal,
the host's clinic and live memberships:

    class CheckInCreateApi(APIView):
        allowed_roles = RECEPTION          # clinic roles allowed (ClinicRole values)
        manager_access = False             # chain managers of the clinic's chain may use it (reads)
        partner_access = "write"           # "read", "write" or None (no partner access)
        permission_classes = [ClinicAccess]
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.authentication import ROLE_CACHE_ATTRIBUTE, PartnerPrincipal
from accounts.models import ClinicRole, User
from accounts.selectors import clinic_role_of, manages_chain
from accounts.tokens import SCOPE_CHAIN, SCOPE_CLINIC

__all__ = [
    "ADMIN",
    "ALL_STAFF",
    "CALLING",
    "RECEPTION",
    "ChainManagerAccess",
    "ClinicAccess",
    "actor_fields",
    "clinic_role_of",
    "manages_chain",
    "request_clinic_role",
]

RECEPTION = frozenset({ClinicRole.RECEPTIONIST, ClinicRole.CLINIC_ADMIN})
CALLING = frozenset({ClinicRole.RECEPTIONIST, ClinicRole.CLINICIAN, ClinicRole.CLINIC_ADMIN})
ALL_STAFF = CALLING
ADMIN = frozenset({ClinicRole.CLINIC_ADMIN})


def _token_scope(request) -> str | None:
    """The JWT's scope claim, or None for a session or a forced test login."""
    token = getattr(request, "auth", None)
    get = getattr(token, "get", None)
    return get("scope") if callable(get) else None


def request_clinic_role(request) -> str | None:
    """The user's active role at the host's clinic (from authentication when it looked it up)."""
    clinic = getattr(request, "tenant", None)
    user = request.user
    if clinic is None or not isinstance(user, User):
        return None
    cached = getattr(user, ROLE_CACHE_ATTRIBUTE, None)
    if cached is not None and cached[0] == clinic.pk:
        return cached[1]
    return clinic_role_of(user=user, clinic=clinic)


def partner_may(*, partner: PartnerPrincipal, clinic, view, method: str) -> bool:
    """A partner on one of its clinics, at a view open to partners, within its read/write scope."""
    wanted = getattr(view, "partner_access", None)
    if wanted not in ("read", "write") or clinic.schema_name != partner.clinic:
        return False
    if wanted == "write" or method not in SAFE_METHODS:
        return partner.can_write
    return True


class ClinicAccess(BasePermission):
    """Staff with an allowed role at the host's clinic, or a chain manager/partner where allowed.

    The authentication class has already checked that a token's scope covers this host; here the
    view's `allowed_roles`, `manager_access` (reads) and `partner_access` decide.
    """

    message = "You do not have access to this clinic for this action."

    def has_permission(self, request, view) -> bool:
        clinic = getattr(request, "tenant", None)
        user = request.user
        if clinic is None or user is None or not getattr(user, "is_authenticated", False):
            return False
        if isinstance(user, PartnerPrincipal):
            return partner_may(partner=user, clinic=clinic, view=view, method=request.method)
        if not isinstance(user, User) or not user.is_active:
            return False
        scope = _token_scope(request)
        if scope != SCOPE_CHAIN:
            role = request_clinic_role(request)
            if role is not None:
                return role in getattr(view, "allowed_roles", frozenset())
        if (
            scope != SCOPE_CLINIC
            and getattr(view, "manager_access", False)
            and request.method in SAFE_METHODS
        ):
            return manages_chain(user=user, chain_id=clinic.chain_id)
        return False


class ChainManagerAccess(BasePermission):
    """Public host: an active person signed in there (not a partner, not with a clinic token).

    Which chains they reach is the chain selectors' decision: a manager's own chains, every chain
    for a platform operator; another chain's ids answer 404, as if they did not exist.
    """

    message = "Sign in as a chain manager or platform operator."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if getattr(request, "tenant", None) is not None or not isinstance(user, User):
            return False
        return user.is_active and _token_scope(request) != SCOPE_CLINIC


def actor_fields(request) -> dict:
    """Who did it, for event rows: the staff user, or the partner client's id."""
    user = request.user
    if isinstance(user, User):
        return {"actor": user, "partner_client_id": ""}
    return {"actor": None, "partner_client_id": getattr(user, "client_id", "") or ""}
