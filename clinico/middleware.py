"""Host routing: <clinic>.<BASE_DOMAIN> is a clinic, BASE_DOMAIN is the public site, others 404."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import JsonResponse
from django.urls import set_urlconf
from django.utils import timezone
from django_tenants.middleware.main import TenantMainMiddleware

from clinico import health
from common.net import peer_is_trusted_proxy
from common.tenancy import tenant_connection
from tenants.selectors import clinic_for_host


def _not_found(detail: str, code: str = "unknown_host") -> JsonResponse:
    return JsonResponse(
        {"type": "client_error", "errors": [{"code": code, "detail": detail, "attr": None}]},
        status=404,
    )


class TrustedProxyHeadersMiddleware:
    """X-Forwarded-Proto counts only from CLINICO_TRUSTED_PROXIES: from anyone else it is dropped
    before SECURE_PROXY_SSL_HEADER reads it (a client cannot make Django think it came by https)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "HTTP_X_FORWARDED_PROTO" in request.META and not peer_is_trusted_proxy(request):
            del request.META["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(request)


class EventsOriginCSPMiddleware:
    """Pages may open their event streams on the events port of their host (web.streams):
    connect-src names that origin, the rest of the policy is settings.CONTENT_SECURITY_POLICY."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        port = settings.CLINICO_EVENTS_PAGE_PORT
        if port:
            host = request.get_host().rsplit(":", 1)[0]
            # Read by csp.middleware.CSPMiddleware (outside this one) as it writes the header.
            response._csp_update = {"connect-src": [f"{request.scheme}://{host}:{port}"]}
        return response


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


class ClinicTimezoneMiddleware:
    """On a clinic's host every time a person reads is the clinic's: templates' `date`/`time`
    filters and `localtime` follow the zone activated here (the public site and the API stay in
    UTC)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        clinic = getattr(request, "tenant", None)
        # The API speaks UTC (ISO 8601 with its offset): partners convert; people read pages.
        if clinic is None or request.path.startswith("/api/"):
            timezone.deactivate()
            return self.get_response(request)
        timezone.activate(zoneinfo.ZoneInfo(clinic.timezone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
