"""Patients on a clinic host: search by CPF, read and correct a record.

Patient data by need (docs/roles.md): reception (receptionist, clinic admin) reads and corrects
whole records; a partner with check-in (write) scope only learns whether a CPF it already holds
belongs to a patient of the clinic, and the name to greet; clinicians, chain managers and
read-only partners reach no patient record here (clinic staff see the name of each ticket's
patient in the queue). A CPF travels in request bodies only, never in a URL, and every look-up
counts against its principal's rate (patients/throttles.py).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from drf_standardized_errors.openapi_serializers import (
    ErrorResponse429Serializer,
    ValidationErrorResponseSerializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import RECEPTION, ClinicAccess, actor_fields
from accounts.throttles import PartnerClientRateThrottle
from audit.models import AccessAction
from common.api import django_validation_to_api
from patients.cpf import cpf_mask
from patients.selectors import patient_find_by_cpf, patient_get
from patients.serializers import CPFField, PatientRegistrationSerializer
from patients.services import patient_update
from patients.throttles import PatientLookupThrottle, patient_lookups_throttled
from patients.trail import access_record_request


class PatientRecordSerializer(serializers.Serializer):
    """A whole patient record, as reception sees it."""

    id = serializers.IntegerField()
    cpf = serializers.CharField(help_text="11 digits.")
    cpf_masked = serializers.SerializerMethodField()
    full_name = serializers.CharField()
    social_name = serializers.CharField()
    display_name = serializers.CharField()
    birth_date = serializers.DateField(allow_null=True)
    phone = serializers.CharField()
    email = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_cpf_masked(self, patient) -> str:
        return cpf_mask(patient.cpf)


class PatientMatchSerializer(serializers.Serializer):
    """What a partner learns from a search: the CPF is a patient here, and the name to greet."""

    cpf_masked = serializers.SerializerMethodField()
    display_name = serializers.CharField()

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
PATIENT_MATCH_EXAMPLE = {"cpf_masked": "***.982.247-**", "display_name": "Maria da Silva"}
LOOKUP_LIMITED = OpenApiResponse(
    response=ErrorResponse429Serializer,
    description="Too many patient look-ups by this user or partner client "
    "(`CLINICO_PATIENT_LOOKUPS_PER_MINUTE`, 60 by default); `Retry-After` gives the seconds "
    "to wait.",
)


class PatientLookupLimited(APIView):
    """Every request counts against the principal's patient look-up rate (and a partner's own)."""

    throttle_classes = [PartnerClientRateThrottle, PatientLookupThrottle]

    def throttled(self, request, wait):
        raise patient_lookups_throttled(wait)


def _search_answer(request, patients: list) -> list:
    serializer = (
        PatientRecordSerializer if isinstance(request.user, User) else PatientMatchSerializer
    )
    access_record_request(
        request,
        action=AccessAction.SEARCH,
        patient_ids=[patient.pk for patient in patients],
        fields=serializer().fields,
    )
    return list(serializer(patients, many=True).data)


class PatientSearchApi(PatientLookupLimited):
    """Find the clinic's patient by CPF, sent in the request body."""

    allowed_roles = RECEPTION
    manager_access = False
    partner_access = "write"
    permission_classes = [ClinicAccess]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PatientSearch"

        cpf = CPFField(help_text="With or without punctuation.")

    @extend_schema(
        operation_id="patients_search",
        request=InputSerializer,
        responses={
            200: PolymorphicProxySerializer(
                component_name="PatientSearchResult",
                serializers=[PatientRecordSerializer, PatientMatchSerializer],
                resource_type_field_name=None,
                many=True,
            ),
            429: LOOKUP_LIMITED,
        },
        examples=[
            OpenApiExample("formatted", value={"cpf": "529.982.247-25"}, request_only=True),
            OpenApiExample("digits only", value={"cpf": "52998224725"}, request_only=True),
            OpenApiExample(
                "found (receptionist, clinic admin)", value=[PATIENT_EXAMPLE], response_only=True
            ),
            OpenApiExample(
                "found (partner with check-in scope)",
                value=[PATIENT_MATCH_EXAMPLE],
                response_only=True,
            ),
            OpenApiExample("not a patient here", value=[], response_only=True),
        ],
        description=(
            "A list with the patient holding this CPF, or an empty list. Receptionists and "
            "clinic admins get the whole record; partners with check-in (`read_write`) scope "
            "only the masked CPF and the name to greet. Clinicians, chain managers and "
            "read-only partners may not search (403). The CPF goes in the body, never in the "
            "URL, so that it stays out of access logs."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        patient = patient_find_by_cpf(cpf=serializer.validated_data["cpf"])
        return Response(_search_answer(request, [patient] if patient is not None else []))


class PatientSearchInUrlApi(PatientLookupLimited):
    """The former `GET patients/?cpf=`: refused, so that no client keeps putting CPFs in URLs."""

    allowed_roles = RECEPTION
    manager_access = False
    partner_access = "write"
    permission_classes = [ClinicAccess]

    @extend_schema(
        operation_id="patients_search_in_url",
        deprecated=True,
        parameters=[OpenApiParameter("cpf", OpenApiTypes.STR, description="Refused.")],
        responses={
            400: OpenApiResponse(
                response=ValidationErrorResponseSerializer,
                description="Always: `cpf_in_url`; search with POST patients/search/.",
            )
        },
        description="Refused with 400: search with `POST /api/v1/patients/search/` and the CPF "
        "in the body. A CPF in a URL ends up in access logs, proxies and browser history.",
    )
    def get(self, request):
        raise serializers.ValidationError(
            {
                "cpf": "A CPF never goes in a URL: search with POST /api/v1/patients/search/ and "
                '{"cpf": "..."} in the body.'
            },
            code="cpf_in_url",
        )


class PatientDetailApi(PatientLookupLimited):
    """Read or correct a patient's record: reception only."""

    allowed_roles = RECEPTION
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]

    class UpdateInputSerializer(PatientRegistrationSerializer):
        cpf = CPFField(required=False, help_text="Correct a mistyped CPF.")

    def _patient(self, patient_id: int):
        patient = patient_get(patient_id=patient_id)
        if patient is None:
            raise Http404
        return patient

    @extend_schema(
        operation_id="patients_retrieve",
        responses={200: PatientRecordSerializer, 429: LOOKUP_LIMITED},
        examples=[OpenApiExample("patient", value=PATIENT_EXAMPLE, response_only=True)],
        description="Receptionists and clinic admins only.",
    )
    def get(self, request, patient_id: int):
        patient = self._patient(patient_id)
        record = PatientRecordSerializer(patient).data
        access_record_request(
            request, action=AccessAction.VIEW, patient_ids=[patient.pk], fields=record
        )
        return Response(record)

    @extend_schema(
        operation_id="patients_partial_update",
        request=UpdateInputSerializer,
        responses={200: PatientRecordSerializer, 429: LOOKUP_LIMITED},
        examples=[
            OpenApiExample(
                "correct the name",
                value={"full_name": "Maria da Silva Santos", "phone": "+55 11 98888-7777"},
                request_only=True,
            ),
            OpenApiExample("patient", value=PATIENT_EXAMPLE, response_only=True),
        ],
        description="Correct a patient's record (receptionists and clinic admins); the change "
        "(who, which fields) is recorded.",
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
        access_record_request(
            request, action=AccessAction.UPDATE, patient_ids=[patient.pk], fields=data
        )
        return Response(PatientRecordSerializer(patient).data, status.HTTP_200_OK)
