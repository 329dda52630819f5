"""API routes of this app on a clinic host, mounted under /api/v1/."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
