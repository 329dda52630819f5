"""API routes of queueing on a clinic host, mounted under /api/v1/."""

from queueing.api import checkins

urlpatterns: list = []
urlpatterns += checkins.urlpatterns
