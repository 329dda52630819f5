"""Host routing: <clinic>.<BASE_DOMAIN> is a clinic, BASE_DOMAIN is the public site, others 404."""

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import JsonResponse
from django.urls import set_urlconf
from django_tenants.middleware.main import TenantMainMiddleware

from clinico import health
from common.tenancy import tenant_connection
from tenants.selectors import clinic_for_host


def _not_found(detail: str, code: str = "unknown_host") -> JsonResponse:
    return JsonResponse(
        {"type": "client_error", "errors": [{"code": code, "detail": detail, "attr": None}]},
        status=404,
    )


class ClinicHostMiddleware(TenantMainMiddleware):
    """Chooses schema and URLconf from the Host header; health checks answer on every host."""

    def process_request(self, request):
        tenant_connection.set_schema_to_public()
        if request.path in ("/healthz", "/readyz"):
            return health.healthz(request) if request.path == "/healthz" else health.readyz(request)
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return _not_found("This host is not served here.")

        if hostname == settings.BASE_DOMAIN:
            request.tenant = None
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return None

        clinic = clinic_for_host(hostname=hostname)
        if clinic is None:
            return _not_found(f'No clinic is served at "{hostname}".')
        if not clinic.is_active:
            return _not_found(f'The clinic at "{hostname}" is not active.', code="clinic_inactive")
        clinic.domain_url = hostname
        request.tenant = clinic
        tenant_connection.set_tenant(clinic)
        request.urlconf = settings.ROOT_URLCONF
        set_urlconf(request.urlconf)
        return None
