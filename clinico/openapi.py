"""Error codes of the 403 and 404 bodies that the apps answer, beyond DRF's defaults."""

from django.db import models
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers


class ErrorCode403(models.TextChoices):
    PERMISSION_DENIED = "permission_denied", "No access here for this action."
    INVALID_PANEL_KEY = "invalid_panel_key", "The panel key is not this clinic's (current) key."


class ErrorCode404(models.TextChoices):
    NOT_FOUND = "not_found", "No such resource here (or not visible to you)."
    UNKNOWN_HOST = "unknown_host", "No clinic is served at this host."
    CLINIC_INACTIVE = "clinic_inactive", "The clinic at this host is not active."


class Error403Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode403.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse403Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error403Serializer(many=True)


class Error404Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode404.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse404Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error404Serializer(many=True)
