"""API routes of this app on a clinic host, mounted under /api/v1/."""

from django.urls import path

from tenants.api_clinic import ClinicOwnSettingsApi, PanelKeyRotateApi

urlpatterns = [
    path("panel/key/rotate/", PanelKeyRotateApi.as_view(), name="panel-key-rotate"),
    path("clinic/", ClinicOwnSettingsApi.as_view(), name="clinic-own-settings"),
]
