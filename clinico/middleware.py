"""Host routing: <clinic>.<BASE_DOMAIN> is a clinic, BASE_DOMAIN is the public site, others 404."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import set_urlconf
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.middleware.main import TenantMainMiddleware

from clinico import health
from common.net import peer_is_trusted_proxy
from common.tenancy import tenant_connection
from tenants.selectors import clinic_for_host


def _language(request) -> str:
    """pt-BR unless the visitor chose English with the pages' switcher (as web.access does)."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    codes = {code for code, _name in settings.LANGUAGES}
    return chosen if chosen in codes else settings.LANGUAGE_CODE


def _wants_page(request) -> bool:
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")


def _not_found(request, reason: str, hostname: str, suggestion: str | None = None) -> HttpResponse:
    """A 404 in the visitor's language: a page for browsers, the API's error body for programs."""
    with translation.override(_language(request)):
        if reason == "inactive":
            code, detail = "clinic_inactive", _('The clinic at "%(host)s" is not active.')
        elif reason == "unknown":
            code, detail = "unknown_host", _('No clinic is served at "%(host)s".')
        else:
            code, detail = "unknown_host", _('"%(host)s" is not an address served here.')
        detail = detail % {"host": hostname}
        if _wants_page(request):
            context = {"detail": detail, "suggestion": suggestion}
            return render(request, "pages/unknown_host.html", context, status=404)
        return JsonResponse(
            {"type": "client_error", "errors": [{"code": code, "detail": detail, "attr": None}]},
            status=404,
        )


def _hyphenated(request) -> str | None:
    """The address a host with underscores means: clinic addresses use hyphens (clinic-a.…)."""
    name, _sep, port = request.META.get("HTTP_HOST", "").partition(":")
    if "_" not in name or (port and not port.isdigit()):
        return None
    candidate = name.replace("_", "-").lower()
    clinic = clinic_for_host(hostname=candidate)
    if clinic is None or not clinic.is_active:
        return None
    return f"{request.scheme}://{candidate}{':' + port if port else ''}/"


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
            raw = request.META.get("HTTP_HOST", "").partition(":")[0][:253]
            return _not_found(request, "disallowed", raw, suggestion=_hyphenated(request))

        if hostname == settings.BASE_DOMAIN:
            request.tenant = None
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return None

        clinic = clinic_for_host(hostname=hostname)
        if clinic is None:
            return _not_found(request, "unknown", hostname)
        if not clinic.is_active:
            return _not_found(request, "inactive", hostname)
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
