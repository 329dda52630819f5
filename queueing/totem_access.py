"""How the self-service totem proves it belongs to the clinic, without a staff login.

As for the waiting-room panel (queueing/panel_access.py): the console's link carries the totem
key in the URL fragment (`/totem/#key=…`), which browsers never send; the page posts it once in
a form body and the answer is a signed, HttpOnly, SameSite=Strict cookie for the clinic's host.
The cookie holds a keyed hash of the clinic and its current key, so rotating the key refuses
every cookie made from the old one, in every process, from the next request on.

The totem key checks patients in and reads back the tickets of its own check-ins: never the
queue, never a patient record (the API's permission classes know nothing of it).
"""

import secrets

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac
from django_tenants.models import TenantMixin
from django_tenants.utils import get_tenant_model

TOTEM_COOKIE = "clinico_totem"
TOTEM_PAGE_PATH = "/totem/"
_COOKIE_SALT = "clinico.totem-cookie"


def totem_settings_current(*, clinic: TenantMixin) -> dict:
    """The clinic's totem key and settings as stored now (not the per-process host cache)."""
    # The tenant model's one manager: queueing does not import tenants.Clinic. These are
    # fields of the concrete tenant model, which the Django plugin does not resolve.
    row = (
        get_tenant_model()
        ._default_manager.filter(pk=clinic.pk)
        .values("totem_key", "totem_new_patients", "ticket_paper_mm")  # type: ignore[misc]
        .first()
    )
    return row or {"totem_key": "", "totem_new_patients": "reception", "ticket_paper_mm": 80}


def totem_key_matches(*, clinic: TenantMixin, key: str) -> bool:
    current = totem_settings_current(clinic=clinic)["totem_key"]
    return bool(key and current) and secrets.compare_digest(key.encode(), current.encode())


def _fingerprint(*, clinic: TenantMixin, key: str) -> str:
    return salted_hmac(_COOKIE_SALT, f"{clinic.schema_name}:{key}").hexdigest()


def totem_cookie_set(response: HttpResponse, *, request: HttpRequest, clinic: TenantMixin) -> None:
    """Give this browser the clinic's totem cookie (host-only, HttpOnly, SameSite=Strict)."""
    max_age = settings.CLINICO_PANEL_COOKIE_MAX_AGE
    key = totem_settings_current(clinic=clinic)["totem_key"]
    response.set_signed_cookie(
        TOTEM_COOKIE,
        _fingerprint(clinic=clinic, key=key),
        salt=_COOKIE_SALT,
        max_age=int(max_age.total_seconds()),
        path="/",
        secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


def totem_cookie_state(*, request: HttpRequest, clinic: TenantMixin) -> str | None:
    """None without a totem cookie; "valid" for the clinic's current key; else "stale"."""
    if TOTEM_COOKIE not in request.COOKIES:
        return None
    try:
        value = request.get_signed_cookie(
            TOTEM_COOKIE, salt=_COOKIE_SALT, max_age=settings.CLINICO_PANEL_COOKIE_MAX_AGE
        )
    except (signing.BadSignature, KeyError):
        return "stale"
    current = totem_settings_current(clinic=clinic)["totem_key"]
    expected = _fingerprint(clinic=clinic, key=current)
    # Without a default the cookie's value is a str or an exception; the stubs don't overload.
    if current and secrets.compare_digest(value.encode(), expected.encode()):  # type: ignore[union-attr]
        return "valid"
    return "stale"


def totem_link(*, request: HttpRequest, key: str) -> str:
    """The totem page's address on this host, the key in the fragment (browsers never send it)."""
    return f"{request.build_absolute_uri(TOTEM_PAGE_PATH)}#key={key}"
