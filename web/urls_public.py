"""Web pages of the public host: the chain managers' sign-in and dashboard."""

from django.urls import include, path

from web import dashboard, figures, streams

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/live/", dashboard.dashboard_live, name="dashboard-live"),
    path(
        "dashboard/clinics/<slug:slug>/figures/",
        figures.chain_clinic_figures,
        name="chain-clinic-figures",
    ),
    path(
        "dashboard/clinics/<slug:slug>/figures/csv/",
        figures.chain_clinic_figures_csv,
        name="chain-clinic-figures-csv",
    ),
    path("events/dashboard/", streams.dashboard_stream, name="dashboard-stream"),
    path("", include("web.urls_auth")),
]
