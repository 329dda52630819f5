"""Web pages on every host: sign-in, sign-out and the language switch."""

from django.urls import include, path

from web import auth

urlpatterns = [
    path("login/", auth.sign_in, name="login"),
    path("logout/", auth.sign_out, name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
]
