"""API routes of this app on a clinic host, mounted under /api/v1/."""

from django.urls import path

from tenants.api_clinic import PanelKeyRotateApi

urlpatterns = [
    path("panel/key/rotate/", PanelKeyRotateApi.as_view(), name="panel-key-rotate"),
]
