"""URLs of a clinic host (<clinic>.<BASE_DOMAIN>)."""

from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from accounts.sign_in import sign_in_page_limited
from integrations.admin import clinic_admin_site, clinic_host_admin_enabled

urlpatterns = [
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("patients.urls")),
    path("api/v1/", include("queueing.urls")),
    path("api/v1/", include("tenants.urls_clinic")),
    path("api/v1/", include("integrations.urls")),
    path("api/v1/", include("appointments.urls")),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="clinico.urls_tenant"), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Platform operators' admin of this clinic's own tables (webhook delivery log); 404 unless
    # CLINICO_CLINIC_HOST_ADMIN is on.
    path(
        "admin/login/",
        clinic_host_admin_enabled(sign_in_page_limited(clinic_admin_site.login)),
    ),
    path("admin/", clinic_admin_site.urls),
    path("", include("web.urls_tenant")),
]

# Errors outside DRF views (pages, middleware, URLs that match nothing): see common/errors.py.
handler400 = "common.errors.handler400"
handler404 = "common.errors.handler404"
handler500 = "common.errors.handler500"
