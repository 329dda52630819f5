"""Web pages of the public host: the chain managers' sign-in and dashboard."""

from django.urls import include, path

from clinico import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("login/", pages.sign_in, name="login"),
    path("logout/", pages.sign_out, name="logout"),
    path("dashboard/", pages.dashboard, name="dashboard"),
    path("dashboard/live/", pages.dashboard_live, name="dashboard-live"),
    path("i18n/", include("django.conf.urls.i18n")),
]
