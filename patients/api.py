"""Patients on a clinic host: search by CPF, read and correct a record."""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import ALL_STAFF, RECEPTION, ClinicAccess, actor_fields, clinic_role_of
from common.api import query_params_validate
from patients.cpf import cpf_mask, cpf_validate
from patients.selectors import patient_find_by_cpf, patient_get
from patients.services import patient_update


class CPFField(serializers.CharField):
    """A CPF, with or without punctuation; stored and returned as 11 digits."""

    # The codes of cpf_validate(), whose own messages are the ones shown: declared here so that
    # the OpenAPI document lists them among the field's 400 codes.
    default_error_messages = {
        "invalid": "Send the CPF as text.",
        **dict.fromkeys(
            ("invalid_characters", "invalid_length", "repeated_digits", "invalid_check_digits"),
            "This is not a valid CPF.",
        ),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "error_messages",
            {"blank": "Enter the patient's CPF.", "required": "Enter the patient's CPF."},
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str | int):
            self.fail("invalid")
        try:
            return cpf_validate(str(data))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages[0], code=error.code) from None


class BirthDateField(serializers.DateField):
    """A birth date from 1900 to tomorrow (a clinic a time zone ahead may already be there)."""

    default_error_messages = {
        "future": "The birth date is in the future.",
        "too_old": "The birth date is before 1900.",
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
        error_messages={"invalid": "Use digits, spaces, +, ( ) or - (8 to 20 characters)."},
    )
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)


def shows_full_cpf(request) -> bool:
    """Receptionists and clinic admins see full CPFs; clinicians, managers, partners masked."""
    user = request.user
    if not isinstance(user, User) or request.tenant is None:
        return False
    return clinic_role_of(user=user, clinic=request.tenant) in RECEPTION


def django_validation_to_api(error: DjangoValidationError) -> serializers.ValidationError:
    """A service's ValidationError as the API's 400, keeping the field names."""
    if hasattr(error, "error_dict"):
        return serializers.ValidationError(error.message_dict)
    return serializers.ValidationError({"non_field_errors": error.messages})


class PatientOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cpf = serializers.SerializerMethodField(
        help_text="11 digits for reception and clinic admins; masked (***.456.789-**) otherwise."
    )
    cpf_masked = serializers.SerializerMethodField()
    full_name = serializers.CharField()
    social_name = serializers.CharField()
    display_name = serializers.CharField()
    birth_date = serializers.DateField(allow_null=True)
    phone = serializers.CharField()
    email = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_cpf(self, patient) -> str:
        return patient.cpf if self.context.get("full_cpf") else cpf_mask(patient.cpf)

    def get_cpf_masked(self, patient) -> str:
        return cpf_mask(patient.cpf)


PATIENT_EXAMPLE = {
    "id": 42,
    "cpf": "52998224725",
    "cpf_masked": "***.982.247-**",
    "full_name": "Maria da Silva",
    "social_name": "",
    "display_name": "Maria da Silva",
    "birth_date": "1958-03-14",
    "phone": "+55 11 91234-5678",
    "email": "maria@example.com",
    "created_at": "2026-03-02T12:00:00Z",
    "updated_at": "2026-03-02T12:00:00Z",
}


class PatientSearchApi(APIView):
    """Find the clinic's patient by CPF."""

    allowed_roles = ALL_STAFF
    manager_access = True
    partner_access = "read"
    permission_classes = [ClinicAccess]

    class InputSerializer(serializers.Serializer):
        cpf = CPFField(help_text="With or without punctuation.")

    @extend_schema(
        operation_id="patients_search",
        # The serializer documents the 400s; the parameter below, listed after it, the examples.
        parameters=[
            InputSerializer,
            OpenApiParameter(
                "cpf",
                OpenApiTypes.STR,
                required=True,
                examples=[
                    OpenApiExample("formatted", value="529.982.247-25"),
                    OpenApiExample("digits only", value="52998224725"),
                ],
            ),
        ],
        responses={200: PatientOutputSerializer(many=True)},
        examples=[OpenApiExample("found", value=[PATIENT_EXAMPLE], response_only=True)],
        description="A list with the patient holding this CPF, or an empty list.",
    )
    def get(self, request):
        query = query_params_validate(request=request, serializer_class=self.InputSerializer)
        patient = patient_find_by_cpf(cpf=query["cpf"])
        patients = [patient] if patient is not None else []
        context = {"full_cpf": shows_full_cpf(request)}
        return Response(PatientOutputSerializer(patients, many=True, context=context).data)


class PatientDetailApi(APIView):
    """Read a patient's record (staff, managers, partners) or correct it (reception)."""

    permission_classes = [ClinicAccess]
    manager_access = True

    # GET and PATCH share the URL; what each method allows is decided per request.
    @property
    def allowed_roles(self):
        return ALL_STAFF if self.request.method in ("GET", "HEAD", "OPTIONS") else RECEPTION

    @property
    def partner_access(self):
        return "read" if self.request.method in ("GET", "HEAD", "OPTIONS") else "write"

    class UpdateInputSerializer(PatientRegistrationSerializer):
        cpf = CPFField(required=False, help_text="Correct a mistyped CPF.")

    def _patient(self, patient_id: int):
        patient = patient_get(patient_id=patient_id)
        if patient is None:
            raise Http404
        return patient

    @extend_schema(
        operation_id="patients_retrieve",
        responses={200: PatientOutputSerializer},
        examples=[OpenApiExample("patient", value=PATIENT_EXAMPLE, response_only=True)],
    )
    def get(self, request, patient_id: int):
        patient = self._patient(patient_id)
        context = {"full_cpf": shows_full_cpf(request)}
        return Response(PatientOutputSerializer(patient, context=context).data)

    @extend_schema(
        operation_id="patients_partial_update",
        request=UpdateInputSerializer,
        responses={200: PatientOutputSerializer},
        examples=[
            OpenApiExample(
                "correct the name",
                value={"full_name": "Maria da Silva Santos", "phone": "+55 11 98888-7777"},
                request_only=True,
            ),
            OpenApiExample("patient", value=PATIENT_EXAMPLE, response_only=True),
        ],
        description="Correct a patient's record; the change (who, which fields) is recorded.",
    )
    def patch(self, request, patient_id: int):
        patient = self._patient(patient_id)
        serializer = self.UpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "full_name" in data and not data["full_name"].strip():
            raise serializers.ValidationError({"full_name": "The full name cannot be empty."})
        try:
            patient = patient_update(patient=patient, data=data, **actor_fields(request))
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        context = {"full_cpf": shows_full_cpf(request)}
        return Response(PatientOutputSerializer(patient, context=context).data, status.HTTP_200_OK)
