"""Web pages of the public host: the chain managers' sign-in and dashboard."""

from django.urls import include, path

from web import auth, dashboard

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("login/", auth.sign_in, name="login"),
    path("logout/", auth.sign_out, name="logout"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/live/", dashboard.dashboard_live, name="dashboard-live"),
    path("i18n/", include("django.conf.urls.i18n")),
]
