"""Web pages of a clinic host: sign-in, the staff console, the waiting-room panel."""

from django.urls import include, path

from clinico import pages

urlpatterns = [
    path("", pages.console, name="console"),
    path("login/", pages.sign_in, name="login"),
    path("logout/", pages.sign_out, name="logout"),
    path("panel/", pages.panel, name="panel"),
    path("i18n/", include("django.conf.urls.i18n")),
]
