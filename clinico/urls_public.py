"""URLs of the public host (BASE_DOMAIN): admin, chain dashboard, chain and partner API."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from accounts.sign_in import admin_sign_in

urlpatterns = [
    # Before admin.site.urls, whose own login/ it wraps: over the sign-in limits it answers 429.
    path("admin/login/", admin_sign_in),
    path("admin/", admin.site.urls),
    path("api/v1/", include("accounts.urls_public")),
    path("api/v1/", include("tenants.urls")),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="clinico.urls_public"), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("web.urls_public")),
]

# Errors outside DRF views (pages, middleware, URLs that match nothing): see common/errors.py.
handler400 = "common.errors.handler400"
handler404 = "common.errors.handler404"
handler500 = "common.errors.handler500"
