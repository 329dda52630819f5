"""Patient input as every API that takes it reads it: the CPF and the registration fields.

Here rather than in patients.api so that the check-in API of queueing, a floor above, can use
them without importing this app's views.
"""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.authentication import PartnerPrincipal
from common.api import AsciiDateField, django_validation_to_api
from patients.cpf import cpf_validate
from patients.services import patient_registration_validate


class CPFField(serializers.CharField):
    """A CPF, with or without punctuation; stored and returned as 11 digits."""

    # The codes of cpf_validate(), whose own messages are the ones shown: declared here so that
    # the OpenAPI document lists them among the field's 400 codes.
    default_error_messages = {
        "invalid": _("Send the CPF as text."),
        **dict.fromkeys(
            ("invalid_characters", "invalid_length", "repeated_digits", "invalid_check_digits"),
            _("This is not a valid CPF."),
        ),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "error_messages",
            {"blank": _("Enter the patient's CPF."), "required": _("Enter the patient's CPF.")},
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str | int):
            self.fail("invalid")
        try:
            return cpf_validate(str(data))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages[0], code=error.code) from None


class BirthDateField(AsciiDateField):
    """A birth date from 1900 to tomorrow (a clinic a time zone ahead may already be there)."""

    default_error_messages = {
        "future": _("The birth date is in the future."),
        "too_old": _("The birth date is before 1900."),
    }

    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        if value > datetime.date.today() + datetime.timedelta(days=1):
            self.fail("future")
        if value < datetime.date(1900, 1, 1):
            self.fail("too_old")
        return value


class PatientRegistrationSerializer(serializers.Serializer):
    """The fields that register a patient at the clinic (full name and birth date required)."""

    full_name = serializers.CharField(max_length=150, required=False, allow_blank=False)
    social_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    birth_date = BirthDateField(required=False, allow_null=True)
    phone = serializers.RegexField(
        r"^[0-9+()\- ]{8,20}$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": _("Use digits, spaces, +, ( ) or - (8 to 20 characters).")},
    )
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)


# What a partner sends with every CPF it checks in or books, so that the answer is the same
# whether or not the CPF is a patient of the clinic (docs/roles.md, "What each principal may
# learn about a CPF").
PARTNER_REQUIRED_REGISTRATION = ("full_name", "birth_date")


def partner_registration_check(request, *, cpf: str, registration: dict | None) -> None:
    """For a partner: the registration is complete and valid, for a known CPF as for a new one."""
    if not isinstance(request.user, PartnerPrincipal):
        return
    registration = registration or {}
    missing = [field for field in PARTNER_REQUIRED_REGISTRATION if not registration.get(field)]
    if missing:
        raise serializers.ValidationError(
            {
                f"patient.{field}": _(
                    "Required with every CPF a partner sends, whether or not it is a patient here."
                )
                for field in missing
            }
        )
    try:
        patient_registration_validate(cpf=cpf, registration=registration)
    except DjangoValidationError as error:
        raise django_validation_to_api(error) from None
