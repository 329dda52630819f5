"""The 401 error body as documented: DRF's codes plus the token and sign-in codes of accounts."""

from django.db import models

from common.openapi import error_response_serializer


class ErrorCode401(models.TextChoices):
    AUTHENTICATION_FAILED = "authentication_failed", "Authentication failed."
    NOT_AUTHENTICATED = "not_authenticated", "No credentials were sent."
    AUTHORIZATION_HEADER_MALFORMED = (
        "authorization_header_malformed",
        'The Authorization header is not "Bearer <token>".',
    )
    TOKEN_NOT_VALID = "token_not_valid", "Bad signature, wrong token type or missing scope."
    TOKEN_EXPIRED = "token_expired", "Refresh it or sign in again."
    TOKEN_BLACKLISTED = "token_blacklisted", "The refresh token was used already or signed out."
    TOKEN_SCOPE_MISMATCH = "token_scope_mismatch", "The token was issued for another host."
    MEMBERSHIP_INACTIVE = "membership_inactive", "Access here was removed, or account inactive."
    PASSWORD_CHANGED = "password_changed", "The password changed since sign-in: sign in again."
    SESSION_EXPIRED = "session_expired", "The session reached its maximum length: sign in again."
    PARTNER_REVOKED = "partner_revoked", "The partner client was revoked."
    PARTNER_SECRET_CHANGED = (
        "partner_secret_changed",
        "The partner's secret was replaced since the token was issued.",
    )
    INVALID_CREDENTIALS = "invalid_credentials", "Wrong e-mail/password, or no access here."
    INVALID_CLIENT = "invalid_client", "Wrong partner client id or secret."


ErrorResponse401Serializer = error_response_serializer(401, ErrorCode401)
