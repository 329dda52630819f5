"""API routes of accounts on the public host, mounted under /api/v1/."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
