"""Appointments on a clinic host: book, list the day's, read one, cancel.

Staff book and cancel from the console; partners (write scope) through this API, idempotent by
their own appointment id (`external_id`). A partner sees only the appointments it booked, sends
the patient's name and birth date with every CPF (so that a known CPF and a new one answer
alike), and each booking counts against its patient look-up rate (docs/roles.md).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.http import Http404
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import PartnerPrincipal
from accounts.models import User
from accounts.permissions import (
    ALL_STAFF,
    RECEPTION,
    ClinicAccess,
    actor_fields,
    clinic_role_of,
    request_clinic_role,
)
from appointments.models import Appointment, AppointmentStatus
from appointments.selectors import appointment_get, appointment_list, appointment_overdue
from appointments.services import (
    AppointmentRefused,
    ExternalIdReused,
    SameDayBooking,
    appointment_cancel,
    appointment_create,
)
from common.api import (
    DateField,
    DateTimeField,
    IdField,
    django_validation_to_api,
    query_params_validate,
)
from patients.cpf import cpf_mask
from patients.serializers import (
    CPFField,
    PatientRegistrationSerializer,
    partner_registration_check,
)
from patients.throttles import CpfWriteLimited
from patients.trail import access_actor
from queueing.clock import clinic_timezone


def _shows_patients(request) -> bool:
    """Clinic staff see the patient and the note; chain managers and partners do not."""
    user = request.user
    if not isinstance(user, User) or getattr(request, "tenant", None) is None:
        return False
    return clinic_role_of(user=user, clinic=request.tenant) is not None


def _shows_cpf(request) -> bool:
    """Reception sees the patient's CPF (masked); clinicians see the name only."""
    return request_clinic_role(request) in RECEPTION


class ClinicDateTimeField(DateTimeField):
    """An ISO 8601 time; without an offset it is read in the clinic's timezone."""

    def default_timezone(self):
        # The OpenAPI document is built outside any clinic: then Django's default zone.
        if getattr(getattr(connection, "tenant", None), "timezone", None) is None:
            return super().default_timezone()
        return clinic_timezone()


class AppointmentOutputSerializer(serializers.Serializer):
    """An appointment; `patient` and `note` are null for chain managers and partners."""

    class ServiceSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AppointmentService"

        id = serializers.IntegerField()
        name = serializers.CharField()
        prefix = serializers.CharField()

    class PatientSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AppointmentPatient"

        id = serializers.IntegerField()
        display_name = serializers.CharField()
        cpf = serializers.CharField(
            allow_null=True,
            help_text="Masked: ***.456.789-**; reception only (null for clinicians).",
        )

    class TicketSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AppointmentTicket"

        id = serializers.IntegerField()
        display_code = serializers.CharField()
        status = serializers.CharField()
        rank_at = serializers.DateTimeField()

    id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=AppointmentStatus.choices,
        help_text="expected; arrived (ranked at the booked time, or by arrival when very "
        "early); late (arrived after the tolerance: a walk-in); no_show (the day closed "
        "without them); cancelled.",
    )
    overdue = serializers.BooleanField(
        help_text="Still expected past the late tolerance: arriving now, a walk-in."
    )
    service = ServiceSerializer()
    scheduled_at = serializers.DateTimeField()
    service_day = serializers.DateField()
    professional = serializers.CharField()
    note = serializers.CharField(allow_null=True)
    external_id = serializers.CharField(allow_null=True)
    arrived_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    ticket = TicketSerializer(allow_null=True)
    patient = PatientSerializer(allow_null=True)
    created_at = serializers.DateTimeField()


def _data(appointment: Appointment, *, staff: bool, cpf: bool = False) -> dict:
    patient = appointment.patient
    return {
        "id": appointment.pk,
        "status": appointment.status,
        "overdue": appointment_overdue(appointment=appointment),
        "service": appointment.service,
        "scheduled_at": appointment.scheduled_at,
        "service_day": appointment.service_day,
        "professional": appointment.professional,
        "note": appointment.note if staff else None,
        "external_id": appointment.external_id,
        "arrived_at": appointment.arrived_at,
        "cancel_reason": appointment.cancel_reason,
        "ticket": appointment.ticket,
        "patient": (
            {
                "id": patient.pk,
                "display_name": patient.display_name,
                "cpf": cpf_mask(patient.cpf) if cpf else None,
            }
            if staff
            else None
        ),
        "created_at": appointment.created_at,
    }


def _partner_filter(request) -> str | None:
    """A partner's client id (it reaches only the appointments it booked); None for staff."""
    user = request.user
    return user.client_id if isinstance(user, PartnerPrincipal) else None


def _loaded(appointment_id: int) -> Appointment:
    """The appointment with the relations its answer shows; 404 when there is none."""
    appointment = appointment_get(appointment_id=appointment_id)
    if appointment is None:
        raise Http404
    return appointment


class ExternalIdConflict(serializers.ValidationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "external_id_reused"


class SameDayConflict(serializers.ValidationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "same_day_booking"


def _same_day_detail(appointments) -> str:
    """The warning naming the patient's other bookings that day, on the clinic's clock."""
    zone = clinic_timezone()
    bookings = ", ".join(
        f"{timezone.localtime(a.scheduled_at, zone):%H:%M} ({a.service.name})" for a in appointments
    )
    return _("This patient already has a booking on this day: %(bookings)s.") % {
        "bookings": bookings
    }


class AppointmentConflictSerializer(serializers.Serializer):
    class Meta:
        ref_name = "AppointmentConflict"

    class ErrorSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AppointmentConflictError"

        code = serializers.CharField()
        detail = serializers.CharField()
        attr = serializers.CharField(allow_null=True)

    type = serializers.CharField()
    errors = ErrorSerializer(many=True)  # type: ignore[assignment]  # a field, not .errors
    current_status = serializers.CharField()


_EXAMPLE = {
    "id": 7,
    "status": "expected",
    "overdue": False,
    "service": {"id": 2, "name": "Consulta", "prefix": "C"},
    "scheduled_at": "2026-03-02T12:00:00Z",
    "service_day": "2026-03-02",
    "professional": "Dra. Helena Prado",
    "note": "Retorno",
    "external_id": "agenda-88412",
    "arrived_at": None,
    "cancel_reason": "",
    "ticket": None,
    "patient": {"id": 41, "display_name": "Maria da Silva", "cpf": "***.982.247-**"},
    "created_at": "2026-02-20T14:03:11Z",
}


class AppointmentListCreateApi(CpfWriteLimited):
    """GET: a day's appointments. POST: book one (staff at reception, partners with write)."""

    permission_classes = [ClinicAccess]
    manager_access = True

    @property
    def allowed_roles(self):
        return ALL_STAFF if self.request.method in SAFE_METHODS else RECEPTION

    @property
    def partner_access(self):
        return "read" if self.request.method in SAFE_METHODS else "write"

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AppointmentFilter"

        day = DateField(required=False, help_text="Service day; today by default.")
        service = IdField(required=False, help_text="Only this service's appointments.")
        status = serializers.ChoiceField(choices=AppointmentStatus.choices, required=False)
        external_id = serializers.CharField(
            required=False, max_length=100, help_text="The partner's own appointment id."
        )

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AppointmentCreate"

        cpf = CPFField(help_text="With or without punctuation: 529.982.247-25 or 52998224725.")
        patient = PatientRegistrationSerializer(
            required=False,
            help_text="Registration; full_name and birth_date are required for a new CPF.",
        )
        service = IdField(help_text="The service the patient is booked in.")
        scheduled_at = ClinicDateTimeField(
            help_text="ISO 8601; without an offset it is the clinic's local time."
        )
        professional = serializers.CharField(max_length=120, required=False, allow_blank=True)
        note = serializers.CharField(max_length=300, required=False, allow_blank=True)
        external_id = serializers.CharField(
            max_length=100,
            required=False,
            allow_null=True,
            allow_blank=True,
            help_text="Your own id of the appointment: sending it again answers the first "
            "booking (200) instead of booking twice.",
        )
        confirm_same_day = serializers.BooleanField(
            required=False,
            allow_null=True,
            default=None,
            help_text="false: answer 409 same_day_booking if the patient already has a booking "
            "that day (ask, then send true to book anyway); absent or true: book.",
        )

    @extend_schema(
        operation_id="appointments_list",
        parameters=[FilterSerializer],
        responses={200: AppointmentOutputSerializer(many=True)},
        examples=[OpenApiExample("a booking", value=[_EXAMPLE], response_only=True)],
    )
    def get(self, request):
        filters = query_params_validate(request=request, serializer_class=self.FilterSerializer)
        appointments = appointment_list(
            service_day=filters.get("day"),
            service_id=filters.get("service"),
            status=filters.get("status"),
            external_id=filters.get("external_id"),
            partner_client_id=_partner_filter(request),
        )
        staff, cpf = _shows_patients(request), _shows_cpf(request)
        return Response(
            AppointmentOutputSerializer(
                [_data(a, staff=staff, cpf=cpf) for a in appointments], many=True
            ).data
        )

    @extend_schema(
        operation_id="appointments_create",
        request=InputSerializer,
        responses={
            201: AppointmentOutputSerializer,
            200: OpenApiResponse(
                AppointmentOutputSerializer, "The same external_id again: the first booking."
            ),
            409: OpenApiResponse(
                description="same_day_booking: confirm_same_day was false and the patient "
                "already has a booking that day."
            ),
            422: OpenApiResponse(description="external_id already used for another booking."),
        },
        examples=[
            OpenApiExample(
                "booking",
                value={
                    "cpf": "529.982.247-25",
                    "service": 2,
                    "scheduled_at": "2026-03-02T09:00:00",
                    "professional": "Dra. Helena Prado",
                    "external_id": "agenda-88412",
                },
                request_only=True,
            ),
            OpenApiExample("booked", value=_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        partner_registration_check(request, cpf=data["cpf"], registration=data.get("patient"))
        try:
            appointment, created = appointment_create(
                cpf=data["cpf"],
                registration=data.get("patient"),
                service_id=data["service"],
                scheduled_at=data["scheduled_at"],
                professional=data.get("professional") or "",
                note=data.get("note") or "",
                external_id=data.get("external_id"),
                trail_actor=access_actor(request),
                confirm_same_day=data.get("confirm_same_day"),
                **actor_fields(request),
            )
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        except SameDayBooking as same_day:
            raise SameDayConflict(
                {"confirm_same_day": _same_day_detail(same_day.appointments)}
            ) from None
        except ExternalIdReused:
            raise ExternalIdConflict(
                {
                    "external_id": "This external_id already names another booking; send a "
                    "new id for a new booking."
                }
            ) from None
        body = AppointmentOutputSerializer(
            _data(_loaded(appointment.pk), staff=_shows_patients(request), cpf=_shows_cpf(request))
        ).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class AppointmentDetailApi(APIView):
    """One appointment."""

    allowed_roles = ALL_STAFF
    manager_access = True
    partner_access = "read"
    permission_classes = [ClinicAccess]

    @extend_schema(
        operation_id="appointments_retrieve",
        responses={200: AppointmentOutputSerializer},
        examples=[OpenApiExample("a booking", value=_EXAMPLE, response_only=True)],
    )
    def get(self, request, appointment_id: int):
        appointment = appointment_get(
            appointment_id=appointment_id, partner_client_id=_partner_filter(request)
        )
        if appointment is None:
            raise Http404
        return Response(
            AppointmentOutputSerializer(
                _data(appointment, staff=_shows_patients(request), cpf=_shows_cpf(request))
            ).data
        )


class AppointmentCancelApi(APIView):
    """Cancel an expected appointment (a partner cancels only the ones it booked)."""

    allowed_roles = RECEPTION
    manager_access = False
    partner_access = "write"
    permission_classes = [ClinicAccess]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AppointmentCancel"

        reason = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(
        operation_id="appointments_cancel",
        request=InputSerializer,
        responses={
            200: AppointmentOutputSerializer,
            409: OpenApiResponse(
                AppointmentConflictSerializer, "The patient arrived, or the day closed."
            ),
        },
    )
    def post(self, request, appointment_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            appointment_cancel(
                appointment_id=appointment_id,
                reason=serializer.validated_data.get("reason") or "",
                **actor_fields(request),
            )
        except Appointment.DoesNotExist:
            raise Http404 from None
        except AppointmentRefused as refused:
            body = {
                "type": "client_error",
                "errors": [{"code": "invalid_transition", "detail": refused.detail, "attr": None}],
                "current_status": refused.appointment.status,
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        return Response(
            AppointmentOutputSerializer(
                _data(
                    _loaded(appointment_id), staff=_shows_patients(request), cpf=_shows_cpf(request)
                )
            ).data
        )


urlpatterns = [
    path("appointments/", AppointmentListCreateApi.as_view(), name="appointments"),
    path(
        "appointments/<int:appointment_id>/",
        AppointmentDetailApi.as_view(),
        name="appointments-detail",
    ),
    path(
        "appointments/<int:appointment_id>/cancel/",
        AppointmentCancelApi.as_view(),
        name="appointments-cancel",
    ),
]
