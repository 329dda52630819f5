"""API routes of accounts on a clinic host, mounted under /api/v1/."""

from django.urls import path

from accounts.api.auth import LogoutApi, TokenObtainApi, TokenRefreshApi
from accounts.api.me import MeApi
from accounts.api.passwords import (
    PasswordChangeApi,
    PasswordResetConfirmApi,
    PasswordResetRequestApi,
)
from accounts.api.staff import StaffApi, StaffDeactivateApi, StaffInvitationApi, StaffRoleApi

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
    path("me/", MeApi.as_view(), name="me"),
    path("staff/", StaffApi.as_view(), name="staff"),
    path("staff/<int:membership_id>/", StaffRoleApi.as_view(), name="staff-role"),
    path(
        "staff/<int:membership_id>/deactivate/",
        StaffDeactivateApi.as_view(),
        name="staff-deactivate",
    ),
    path(
        "staff/<int:membership_id>/invitation/",
        StaffInvitationApi.as_view(),
        name="staff-invitation",
    ),
]
