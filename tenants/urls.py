"""Chain API on the public host, mounted under /api/v1/."""

from django.urls import path

from tenants.api import (
    ChainClinicsApi,
    ChainListApi,
    ChainStatsApi,
    ChainTodayApi,
    ClinicSettingsApi,
)

urlpatterns = [
    path("chains/", ChainListApi.as_view(), name="chain-list"),
    path("chains/<int:chain_id>/clinics/", ChainClinicsApi.as_view(), name="chain-clinics"),
    path("chains/<int:chain_id>/stats/", ChainStatsApi.as_view(), name="chain-stats"),
    path("chains/<int:chain_id>/today/", ChainTodayApi.as_view(), name="chain-today"),
    path("clinics/<str:slug>/", ClinicSettingsApi.as_view(), name="clinic-settings"),
]
