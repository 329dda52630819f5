"""API routes of queueing on a clinic host, mounted under /api/v1/."""

urlpatterns: list = []
