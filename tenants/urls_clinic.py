"""API routes of this app on a clinic host, mounted under /api/v1/."""

from django.urls import path

from tenants.api_clinic import (
    ClinicOwnSettingsApi,
    PanelKeyRotateApi,
    TotemKeyRotateApi,
    TotemSettingsApi,
)

urlpatterns = [
    path("panel/key/rotate/", PanelKeyRotateApi.as_view(), name="panel-key-rotate"),
    path("clinic/", ClinicOwnSettingsApi.as_view(), name="clinic-own-settings"),
    path("totem/key/rotate/", TotemKeyRotateApi.as_view(), name="totem-key-rotate"),
    path("totem/settings/", TotemSettingsApi.as_view(), name="totem-settings"),
]
