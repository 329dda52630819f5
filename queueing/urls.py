"""API routes of queueing on a clinic host, mounted under /api/v1/."""

from queueing.api import (
    checkins,
    desks,
    figures,
    panel,
    panels,
    privacy,
    queue,
    setup,
    stats,
    tickets,
)

urlpatterns: list = [
    *checkins.urlpatterns,
    *setup.urlpatterns,
    *desks.urlpatterns,
    *queue.urlpatterns,
    *stats.urlpatterns,
    *tickets.urlpatterns,
    *panel.urlpatterns,
    *panels.urlpatterns,
    *privacy.urlpatterns,
    *figures.urlpatterns,
]
