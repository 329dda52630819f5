"""API routes of queueing on a clinic host, mounted under /api/v1/."""

from queueing.api import checkins
from queueing.api import panel as panel_api
from queueing.api import queue as queue_api
from queueing.api import setup as setup_api

urlpatterns: list = []
urlpatterns += checkins.urlpatterns
urlpatterns += setup_api.urlpatterns
urlpatterns += queue_api.urlpatterns
urlpatterns += panel_api.urlpatterns
