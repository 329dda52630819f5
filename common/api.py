"""Helpers the apps' REST APIs share."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers


def django_validation_to_api(error: DjangoValidationError) -> serializers.ValidationError:
    """A service's ValidationError as the API's 400, keeping the field names."""
    if hasattr(error, "error_dict"):
        return serializers.ValidationError(error.message_dict)
    return serializers.ValidationError({"non_field_errors": error.messages})
