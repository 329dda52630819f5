"""A clinic's answers to its patients' LGPD requests, and its access trail: clinic admins only.

Export (Art. 18 II), anonymisation (Art. 18 IV), the records due for a retention review, and the
trail of who read or changed patient data (filterable, and as CSV).
"""

import datetime
import math

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import ADMIN, ClinicAccess
from audit.models import AccessAction
from audit.selectors import access_entries_csv, access_entries_list
from common.api import DateTimeField, IdField, django_validation_to_api, query_params_validate
from patients.cpf import cpf_mask
from patients.models import Patient
from patients.selectors import patient_get
from patients.throttles import PatientExportThrottle
from patients.trail import access_actor, access_record_request
from queueing.clock import clinic_timezone
from queueing.selectors.privacy import patient_data_export, patients_due_for_review
from queueing.services.privacy import patient_anonymise


class _AdminOnly(APIView):
    allowed_roles = ADMIN
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]


def _patient_or_404(patient_id: int) -> Patient:
    patient = patient_get(patient_id=patient_id)
    if patient is None:
        raise Http404
    return patient


class _ExportLimited(_AdminOnly):
    """Exports and anonymisations have a rate of their own per principal, then 429."""

    throttle_classes = [PatientExportThrottle]

    def throttled(self, request, wait):
        seconds = max(1, math.ceil(wait or 1))
        raise Throttled(
            wait=seconds,
            detail=f"Too many patient exports or anonymisations. Wait {seconds} seconds and "
            "try again.",
        )


class PatientExportApi(_ExportLimited):
    """Everything the clinic holds about one patient, as a JSON download."""

    @extend_schema(
        operation_id="patients_export",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The export.")},
        description="Clinic admins only. The record, its corrections, check-ins, tickets and "
        "their events, appointments, and the access-trail entries about the patient. The "
        "export itself is recorded in the trail.",
    )
    def get(self, request, patient_id: int):
        patient = _patient_or_404(patient_id)
        export = patient_data_export(patient=patient)
        access_record_request(request, action=AccessAction.EXPORT, patient_ids=[patient.pk])
        response = HttpResponse(
            DjangoJSONEncoder(indent=2, ensure_ascii=False).encode(export),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="patient-{patient.pk}.json"'
        return response


class PatientAnonymiseApi(_ExportLimited):
    """Erase a patient's identifying data on their request; tickets and figures stay."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PatientAnonymise"

        reason = serializers.CharField(
            max_length=300, help_text="Why: the patient's request, its date and channel."
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PatientAnonymised"

        id = serializers.IntegerField()
        anonymised_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="patients_anonymise",
        request=InputSerializer,
        responses={200: OutputSerializer},
        description="Clinic admins only. CPF, names, birth date and contacts are erased from "
        "the record and from its check-ins; a search by the old CPF finds nothing. Refused "
        "(400, `patient`) while the patient holds an open ticket today. Cannot be undone.",
    )
    def post(self, request, patient_id: int):
        patient = _patient_or_404(patient_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            patient = patient_anonymise(
                patient_id=patient.pk,
                reason=serializer.validated_data["reason"],
                actor=access_actor(request),
                user=request.user if isinstance(request.user, User) else None,
            )
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        return Response(self.OutputSerializer(patient).data)


class PatientReviewApi(_AdminOnly):
    """Patients with no visit for `CLINICO_PATIENT_REVIEW_AFTER_YEARS`: candidates to erase."""

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PatientDueForReview"

        id = serializers.IntegerField()
        cpf_masked = serializers.SerializerMethodField()
        created_at = serializers.DateTimeField()
        last_visit = serializers.DateField(allow_null=True)

        def get_cpf_masked(self, patient) -> str:
            return cpf_mask(patient.cpf)

    @extend_schema(
        operation_id="patients_review",
        responses={200: OutputSerializer(many=True)},
        description="Clinic admins only. Ids, masked CPFs and last visit (service day) of "
        "patients with no visit for the configured number of years (at most 1,000).",
    )
    def get(self, request):
        years = settings.CLINICO_PATIENT_REVIEW_AFTER_YEARS
        cut = timezone.localdate() - datetime.timedelta(days=round(365.25 * years))
        patients = patients_due_for_review(no_visit_since=cut)[:1000]
        return Response(self.OutputSerializer(patients, many=True).data)


class AccessTrailFilterSerializer(serializers.Serializer):
    patient = IdField(required=False, help_text="A patient's id.")
    user = IdField(required=False, help_text="A staff user's id.")
    partner_client = serializers.CharField(
        required=False, max_length=64, help_text="A partner client id."
    )
    since = DateTimeField(required=False, help_text="From (inclusive).")
    until = DateTimeField(required=False, help_text="Until (exclusive).")


# The serializer documents the parameters and their 400s (common.openapi).
_TRAIL_PARAMETERS = [AccessTrailFilterSerializer]


def _trail(request):
    data = query_params_validate(request=request, serializer_class=AccessTrailFilterSerializer)
    return access_entries_list(
        patient_id=data.get("patient"),
        user_id=data.get("user"),
        partner_client_id=data.get("partner_client", ""),
        since=data.get("since"),
        until=data.get("until"),
    )


class AccessTrailApi(_AdminOnly):
    """Who read or changed which patient's data, when, from where and why."""

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AccessTrailEntry"

        id = serializers.IntegerField()
        at = serializers.DateTimeField()
        user_id = serializers.IntegerField(allow_null=True)
        user_email = serializers.CharField()
        role = serializers.CharField()
        partner_client_id = serializers.CharField()
        patient_id = serializers.IntegerField(allow_null=True)
        action = serializers.CharField()
        fields = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]
        address = serializers.CharField()
        purpose = serializers.CharField()

    @extend_schema(
        operation_id="access_trail_list",
        parameters=_TRAIL_PARAMETERS,
        responses={200: OutputSerializer(many=True)},
        description="Clinic admins only. Oldest first, at most 1,000 entries: narrow with the "
        "filters, or download everything as CSV from `access-trail/csv/`.",
    )
    def get(self, request):
        return Response(self.OutputSerializer(_trail(request)[:1000], many=True).data)


class AccessTrailCsvApi(_AdminOnly):
    """The access trail as CSV, with the same filters."""

    @extend_schema(
        operation_id="access_trail_csv",
        parameters=_TRAIL_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The trail as CSV.")
        },
        description="Clinic admins only.",
    )
    def get(self, request):
        response = StreamingHttpResponse(
            access_entries_csv(entries=_trail(request), zone=clinic_timezone()),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="access-trail.csv"'
        return response


urlpatterns = [
    path("patients/<int:patient_id>/export/", PatientExportApi.as_view(), name="patients-export"),
    path(
        "patients/<int:patient_id>/anonymise/",
        PatientAnonymiseApi.as_view(),
        name="patients-anonymise",
    ),
    path("patients/review/", PatientReviewApi.as_view(), name="patients-review"),
    path("access-trail/", AccessTrailApi.as_view(), name="access-trail"),
    path("access-trail/csv/", AccessTrailCsvApi.as_view(), name="access-trail-csv"),
]
