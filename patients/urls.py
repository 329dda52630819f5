"""API routes of this app on a clinic host, mounted under /api/v1/."""

from django.urls import path

from patients.api import PatientDetailApi, PatientSearchApi, PatientSearchInUrlApi

urlpatterns: list = [
    path("patients/search/", PatientSearchApi.as_view(), name="patients-search"),
    path("patients/", PatientSearchInUrlApi.as_view(), name="patients-search-in-url"),
    path("patients/<int:patient_id>/", PatientDetailApi.as_view(), name="patients-detail"),
]
