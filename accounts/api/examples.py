"""OpenAPI examples of the accounts API: requests and answers as clients see them."""

from drf_spectacular.utils import OpenApiExample

_CLINIC_SCOPE = {
    "scope": "clinic",
    "clinic": "centro",
    "role": "receptionist",
    "chains": None,
    "clinics": None,
    "access": None,
}
_CHAIN_SCOPE = {
    "scope": "chain",
    "clinic": None,
    "role": None,
    "chains": [1],
    "clinics": None,
    "access": None,
}
_PARTNER_SCOPE = {
    "scope": "partner",
    "clinic": None,
    "role": None,
    "chains": None,
    "clinics": ["centro", "manaus"],
    "access": "read_write",
}
_REFRESH = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.sig"


def _pair(access: str, scope: dict) -> dict:
    return {
        "access": access,
        "refresh": _REFRESH,
        "token_type": "Bearer",
        "access_expires_in": 600,
        "refresh_expires_in": 86400,
        "scope": scope,
    }


SIGN_IN = OpenApiExample(
    "demo receptionist",
    value={"email": "recepcao@centro.demo", "password": "clinico-demo"},
    request_only=True,
)
CLINIC_PAIR = OpenApiExample(
    "clinic staff (clinic host)",
    value=_pair("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6ImNsaW5pYyJ9.sig", _CLINIC_SCOPE),
    response_only=True,
)
CHAIN_PAIR = OpenApiExample(
    "chain manager (public host)",
    value=_pair("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6ImNoYWluIn0.sig", _CHAIN_SCOPE),
    response_only=True,
)

PARTNER_CREDENTIALS = OpenApiExample(
    "credentials",
    value={"client_id": "pc_3f9a1c0d2b7e4a5f6c8d9e0a", "client_secret": "s3cr3t..."},
    request_only=True,
)
PARTNER_TOKEN = OpenApiExample(
    "token",
    value={
        "access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6InBhcnRuZXIifQ.sig",
        "token_type": "Bearer",
        "expires_in": 900,
        "scope": _PARTNER_SCOPE,
    },
    response_only=True,
)

ME_RECEPTIONIST = OpenApiExample(
    "receptionist on her clinic",
    value={
        "principal": "user",
        "email": "recepcao@centro.demo",
        "full_name": "Recepcao Clínica Demo Centro",
        "is_operator": False,
        "client_id": None,
        "partner_access": None,
        "token_scope": "clinic",
        "clinic": {"slug": "centro", "name": "Clínica Demo Centro", "role": "receptionist"},
        "role": "receptionist",
        "clinics": [{"slug": "centro", "name": "Clínica Demo Centro", "role": "receptionist"}],
        "chains": [],
    },
    response_only=True,
)

_STAFF_MEMBER = {
    "id": 7,
    "email": "ana@centro.demo",
    "full_name": "Ana Souza",
    "role": "clinician",
    "is_active": True,
    "can_sign_in": False,
    "created_at": "2026-03-02T12:00:00Z",
}
STAFF_LIST = OpenApiExample("staff", value=[_STAFF_MEMBER], response_only=True)
STAFF_INVITE = OpenApiExample(
    "invite a clinician",
    value={"email": "ana@centro.demo", "full_name": "Ana Souza", "role": "clinician"},
    request_only=True,
)
STAFF_INVITED = OpenApiExample("invited", value=_STAFF_MEMBER, response_only=True)
STAFF_MAKE_ADMIN = OpenApiExample("make admin", value={"role": "clinic_admin"}, request_only=True)
STAFF_ROLE_CHANGED = OpenApiExample(
    "changed", value={**_STAFF_MEMBER, "role": "clinic_admin"}, response_only=True
)
STAFF_DEACTIVATED = OpenApiExample(
    "deactivated", value={**_STAFF_MEMBER, "is_active": False}, response_only=True
)
