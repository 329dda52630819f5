"""Web pages of a clinic host: sign-in, the staff console, the waiting-room panel."""

from django.urls import include, path

from web import console, panel

urlpatterns = [
    path("", console.console, name="console"),
    path("panel/", panel.panel, name="panel"),
    path("", include("web.urls_auth")),
]
