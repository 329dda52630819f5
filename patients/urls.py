"""API routes of this app on a clinic host, mounted under /api/v1/."""

from django.urls import path

from patients.api import PatientDetailApi, PatientSearchApi

urlpatterns: list = [
    path("patients/", PatientSearchApi.as_view(), name="patients-search"),
    path("patients/<int:patient_id>/", PatientDetailApi.as_view(), name="patients-detail"),
]
