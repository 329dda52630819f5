"""Error codes of the 403 and 404 bodies that the apps answer, beyond DRF's defaults."""

from django.db import models

from common.openapi import error_response_serializer


class ErrorCode403(models.TextChoices):
    PERMISSION_DENIED = "permission_denied", "No access here for this action."
    INVALID_PANEL_KEY = "invalid_panel_key", "The panel key is not this clinic's (current) key."


class ErrorCode404(models.TextChoices):
    NOT_FOUND = "not_found", "No such resource here (or not visible to you)."
    UNKNOWN_HOST = "unknown_host", "No clinic is served at this host."
    CLINIC_INACTIVE = "clinic_inactive", "The clinic at this host is not active."


ErrorResponse403Serializer = error_response_serializer(403, ErrorCode403)
ErrorResponse404Serializer = error_response_serializer(404, ErrorCode404)
