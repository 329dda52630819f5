"""API routes of accounts on the public host, mounted under /api/v1/."""

from django.urls import path

from accounts.api import LogoutApi, MeApi, PartnerTokenApi, TokenObtainApi, TokenRefreshApi

urlpatterns: list = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("auth/token/refresh/", TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout/", LogoutApi.as_view(), name="auth-logout"),
    path("auth/partner-token/", PartnerTokenApi.as_view(), name="auth-partner-token"),
    path("me/", MeApi.as_view(), name="me"),
]
