"""A service's Django ValidationError as the API's 400, for every app's views."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers


def django_validation_to_api(error: DjangoValidationError) -> serializers.ValidationError:
    """A service's ValidationError as the API's 400, keeping the field names."""
    if hasattr(error, "error_dict"):
        return serializers.ValidationError(error.message_dict)
    return serializers.ValidationError({"non_field_errors": error.messages})


@contextmanager
def service_errors_as_400() -> Iterator[None]:
    """Around a service call: its ValidationError answers 400 naming the field and the reason."""
    try:
        yield
    except DjangoValidationError as error:
        raise django_validation_to_api(error) from None
