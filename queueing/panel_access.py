"""How the waiting-room TV proves it belongs to the clinic, without a staff login.

The TV shows the key once: the console's link carries it in the URL fragment (`/panel/#key=…`),
which browsers never send, and the page posts it in a form body; the answer is a signed,
HttpOnly, SameSite=Strict cookie for the clinic's host only. The panel's polls then carry the
cookie, so the key appears in no request line and no access log. Other displays may send the
key in the `X-Panel-Key` header instead.

The cookie holds a keyed hash of the clinic and its current key, so rotating the key refuses
every cookie made from the old one. The key is read from the database on each check rather
than from the per-process host cache: a rotation takes effect on the next request everywhere.
"""

import secrets

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac
from django_tenants.models import TenantMixin
from django_tenants.utils import get_tenant_model

PANEL_COOKIE = "clinico_panel"
PANEL_KEY_HEADER = "X-Panel-Key"
PANEL_PAGE_PATH = "/panel/"
_COOKIE_SALT = "clinico.panel-cookie"


def panel_key_current(*, clinic: TenantMixin) -> str:
    """The clinic's panel key as stored now (another process may just have rotated it)."""
    # The tenant model's one manager (`objects`): queueing does not import tenants.Clinic.
    clinics = get_tenant_model()._default_manager.filter(pk=clinic.pk)
    # panel_key is a field of the concrete tenant model (settings.TENANT_MODEL); the Django plugin
    # resolves get_tenant_model() only to the abstract TenantMixin, which lacks it.
    key = clinics.values_list("panel_key", flat=True)  # type: ignore[misc]
    return key.first() or ""


def panel_key_matches(*, clinic: TenantMixin, key: str) -> bool:
    current = panel_key_current(clinic=clinic)
    return bool(key and current) and secrets.compare_digest(key.encode(), current.encode())


def _fingerprint(*, clinic: TenantMixin, key: str) -> str:
    return salted_hmac(_COOKIE_SALT, f"{clinic.schema_name}:{key}").hexdigest()


def panel_cookie_set(response: HttpResponse, *, request: HttpRequest, clinic: TenantMixin) -> None:
    """Give this browser the clinic's panel cookie (host-only, HttpOnly, SameSite=Strict)."""
    max_age = settings.CLINICO_PANEL_COOKIE_MAX_AGE
    response.set_signed_cookie(
        PANEL_COOKIE,
        _fingerprint(clinic=clinic, key=panel_key_current(clinic=clinic)),
        salt=_COOKIE_SALT,
        max_age=int(max_age.total_seconds()),
        path="/",
        secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


def panel_cookie_state(*, request: HttpRequest, clinic: TenantMixin) -> str | None:
    """None without a panel cookie; "valid" for the clinic's current key; else "stale"."""
    if PANEL_COOKIE not in request.COOKIES:
        return None
    try:
        value = request.get_signed_cookie(
            PANEL_COOKIE,
            salt=_COOKIE_SALT,
            max_age=settings.CLINICO_PANEL_COOKIE_MAX_AGE,
        )
    except (signing.BadSignature, KeyError):
        return "stale"
    current = panel_key_current(clinic=clinic)
    expected = _fingerprint(clinic=clinic, key=current)
    # Without a default the cookie's value is a str or an exception; the stubs don't overload.
    if current and secrets.compare_digest(value.encode(), expected.encode()):  # type: ignore[union-attr]
        return "valid"
    return "stale"


def panel_link(*, request: HttpRequest, key: str) -> str:
    """The panel page's address on this host, the key in the fragment (browsers never send it)."""
    return f"{request.build_absolute_uri(PANEL_PAGE_PATH)}#key={key}"
