"""Web pages on every host: sign-in, sign-out and the language switch."""

from django.urls import include, path

from web import auth, passwords

urlpatterns = [
    path("login/", auth.sign_in, name="login"),
    path("logout/", auth.sign_out, name="logout"),
    path("password/forgot/", passwords.password_forgot, name="password-forgot"),
    path("password/set/<uidb64>/<token>/", passwords.password_set, name="password-set"),
    path("password/change/", passwords.password_change, name="password-change"),
    path("i18n/", include("django.conf.urls.i18n")),
]
