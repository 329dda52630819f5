"""Web pages of the public host: the chain managers' sign-in and dashboard."""

from django.urls import include, path

from web import dashboard, streams

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/live/", dashboard.dashboard_live, name="dashboard-live"),
    path("events/dashboard/", streams.dashboard_stream, name="dashboard-stream"),
    path("", include("web.urls_auth")),
]
