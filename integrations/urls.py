"""API routes of webhooks on a clinic host, mounted under /api/v1/."""

from integrations import api

urlpatterns: list = [*api.urlpatterns]
