"""Patient input as every API that takes it reads it: the CPF and the registration fields.

Here rather than in patients.api so that the check-in API of queueing, a floor above, can use
them without importing this app's views.
"""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from patients.cpf import cpf_validate


class CPFField(serializers.CharField):
    """A CPF, with or without punctuation; stored and returned as 11 digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "error_messages",
            {"blank": "Enter the patient's CPF.", "required": "Enter the patient's CPF."},
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str | int):
            raise serializers.ValidationError("Send the CPF as text.", code="invalid")
        try:
            return cpf_validate(str(data))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages[0], code=error.code) from None


def validate_birth_date(value: datetime.date) -> None:
    if value > datetime.date.today() + datetime.timedelta(days=1):
        raise serializers.ValidationError("The birth date is in the future.", code="future")
    if value < datetime.date(1900, 1, 1):
        raise serializers.ValidationError("The birth date is before 1900.", code="too_old")


class PatientRegistrationSerializer(serializers.Serializer):
    """The fields that register a patient at the clinic (full name and birth date required)."""

    full_name = serializers.CharField(max_length=150, required=False, allow_blank=False)
    social_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    birth_date = serializers.DateField(
        required=False, allow_null=True, validators=[validate_birth_date]
    )
    phone = serializers.RegexField(
        r"^[0-9+()\- ]{8,20}$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": "Use digits, spaces, +, ( ) or - (8 to 20 characters)."},
    )
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
