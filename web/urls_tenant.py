"""Web pages of a clinic host: sign-in, the staff console, the waiting-room panel."""

from django.urls import include, path

from web import auth, console, panel

urlpatterns = [
    path("", console.console, name="console"),
    path("login/", auth.sign_in, name="login"),
    path("logout/", auth.sign_out, name="logout"),
    path("panel/", panel.panel, name="panel"),
    path("i18n/", include("django.conf.urls.i18n")),
]
