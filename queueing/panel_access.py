"""How a waiting-room TV proves which of the clinic's panels it is, without a staff login.

Each panel has its own key, stored only as a SHA-256 digest. The admin's link carries the key in
the URL fragment (`/panel/#key=…`), which browsers never send, and the page posts it in a form
body; the answer is a signed, HttpOnly, SameSite=Strict cookie for the clinic's host only that
names the panel and a keyed hash of its current key digest. The panel's polls then carry the
cookie, so the key appears in no request line and no access log. Other displays may send the
key in the `X-Panel-Key` header instead.

Rotating a panel's key changes its digest, which refuses every cookie made from the old one. The
panel is read from the database on each check: a rotation takes effect on the next request in
every process.
"""

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare, salted_hmac
from django_tenants.models import TenantMixin
from django_tenants.utils import get_tenant_model

from queueing.models import Panel
from queueing.selectors.queue import panel_by_key_hash
from queueing.services.panels import panel_key_hash

PANEL_COOKIE = "clinico_panel"
PANEL_KEY_HEADER = "X-Panel-Key"
PANEL_PAGE_PATH = "/panel/"
_COOKIE_SALT = "clinico.panel-cookie"


def panel_for_key(*, key: str) -> Panel | None:
    """The current clinic's panel opened by `key`, or None."""
    return panel_by_key_hash(key_hash=panel_key_hash(key)) if key else None


def _fingerprint(*, clinic: TenantMixin, panel: Panel) -> str:
    return salted_hmac(
        _COOKIE_SALT, f"{clinic.schema_name}:{panel.pk}:{panel.key_hash}"
    ).hexdigest()


def panel_cookie_set(
    response: HttpResponse, *, request: HttpRequest, clinic: TenantMixin, panel: Panel
) -> None:
    """Give this browser `panel`'s cookie (host-only, HttpOnly, SameSite=Strict)."""
    max_age = settings.CLINICO_PANEL_COOKIE_MAX_AGE
    response.set_signed_cookie(
        PANEL_COOKIE,
        f"{panel.pk}:{_fingerprint(clinic=clinic, panel=panel)}",
        salt=_COOKIE_SALT,
        max_age=int(max_age.total_seconds()),
        path="/",
        secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


def panel_of_cookie(
    *, request: HttpRequest, clinic: TenantMixin
) -> tuple[str | None, Panel | None]:
    """(None, None) without a panel cookie; ("valid", panel) for a panel's current key; else
    ("stale", None): the key was rotated or the panel deleted."""
    if PANEL_COOKIE not in request.COOKIES:
        return None, None
    try:
        value = request.get_signed_cookie(
            PANEL_COOKIE,
            salt=_COOKIE_SALT,
            max_age=settings.CLINICO_PANEL_COOKIE_MAX_AGE,
        )
    except (signing.BadSignature, KeyError):
        return "stale", None
    panel_id, sep, fingerprint = str(value).partition(":")
    if not sep:
        return _legacy_cookie(clinic=clinic, value=str(value))
    if not (panel_id.isascii() and panel_id.isdigit()):
        return "stale", None
    panel = Panel.objects.filter(pk=int(panel_id)).first()
    if panel is None or not constant_time_compare(
        fingerprint, _fingerprint(clinic=clinic, panel=panel)
    ):
        return "stale", None
    return "valid", panel


def _legacy_cookie(*, clinic: TenantMixin, value: str) -> tuple[str, Panel | None]:
    """A cookie from before panels (the clinic's one key): good for the default panel until its
    first new key, so TVs kept working through the upgrade (the page renews it as a new one)."""
    # The tenant model's one manager: queueing does not import tenants.Clinic. panel_key is a
    # field of the concrete model, which the plugin does not see through get_tenant_model().
    clinics = get_tenant_model()._default_manager.filter(pk=clinic.pk)
    key = clinics.values_list("panel_key", flat=True).first() or ""  # type: ignore[misc]
    legacy = salted_hmac(_COOKIE_SALT, f"{clinic.schema_name}:{key}").hexdigest()
    panel = Panel.objects.filter(is_default=True).first()
    current = key and panel is not None and panel.key_hash == panel_key_hash(key)
    if current and constant_time_compare(value, legacy):
        return "valid", panel
    return "stale", None


def panel_link(*, request: HttpRequest, key: str) -> str:
    """The panel page's address on this host, the key in the fragment (browsers never send it)."""
    return f"{request.build_absolute_uri(PANEL_PAGE_PATH)}#key={key}"
