"""API routes of appointments on a clinic host, mounted under /api/v1/."""

from appointments.api import urlpatterns as api_urlpatterns

urlpatterns: list = [*api_urlpatterns]
