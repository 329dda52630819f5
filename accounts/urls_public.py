"""API routes of accounts on the public host, mounted under /api/v1/."""

from django.urls import path

from accounts.api.auth import LogoutApi, TokenObtainApi, TokenRefreshApi
from accounts.api.me import MeApi
from accounts.api.partners import PartnerTokenApi
from accounts.api.passwords import (
    PasswordChangeApi,
    PasswordResetConfirmApi,
    PasswordResetRequestApi,
)

urlpatterns: list = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("auth/token/refresh/", TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout/", LogoutApi.as_view(), name="auth-logout"),
    path("auth/password/reset/", PasswordResetRequestApi.as_view(), name="auth-password-reset"),
    path(
        "auth/password/reset/confirm/",
        PasswordResetConfirmApi.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("auth/password/change/", PasswordChangeApi.as_view(), name="auth-password-change"),
    path("auth/partner-token/", PartnerTokenApi.as_view(), name="auth-partner-token"),
    path("me/", MeApi.as_view(), name="me"),
]
