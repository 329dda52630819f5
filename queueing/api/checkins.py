"""Check-in on a clinic host: POST a CPF, then poll the status URL until the ticket is there."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from accounts.authentication import PartnerPrincipal
from accounts.permissions import (
    ALL_STAFF,
    RECEPTION,
    ClinicAccess,
    actor_fields,
    request_clinic_role,
)
from common.api import IdField, django_validation_to_api
from patients.cpf import cpf_mask
from patients.serializers import (
    CPFField,
    PatientRegistrationSerializer,
    partner_registration_check,
)
from patients.throttles import CpfWriteLimited
from patients.trail import access_actor
from queueing.api import examples
from queueing.api.serializers import shows_patients
from queueing.selectors.checkins import checkin_get
from queueing.selectors.queue import ticket_position_and_estimate
from queueing.services.checkins import (
    DECLARABLE_PRIORITY_REASONS,
    IdempotencyKeyReused,
    checkin_create,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"


class IdempotencyKeyConflict(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = (
        "This Idempotency-Key was already used for a different check-in; "
        "send a new key for a new request."
    )


def _status_url(request, checkin) -> str:
    return reverse("checkins-detail", kwargs={"checkin_id": checkin.pk}, request=request)


class CheckInAcceptedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    status_url = serializers.URLField()
    created_at = serializers.DateTimeField()


@extend_validation_errors(["invalid"], field_name="idempotency_key", methods=["post"])
class CheckInCreateApi(CpfWriteLimited):
    """Check a patient in by CPF; the ticket is issued asynchronously."""

    allowed_roles = RECEPTION
    manager_access = False
    partner_access = "write"
    permission_classes = [ClinicAccess]

    class InputSerializer(serializers.Serializer):
        cpf = CPFField(help_text="With or without punctuation: 529.982.247-25 or 52998224725.")
        patient = PatientRegistrationSerializer(
            required=False,
            help_text="Registration; full_name and birth_date are required for a new CPF.",
        )
        service = IdField(
            required=False, allow_null=True, help_text="Service id; the default service if omitted."
        )
        priority_reason = serializers.ChoiceField(
            choices=DECLARABLE_PRIORITY_REASONS,
            required=False,
            allow_blank=True,
            help_text="Declared priority; the 60+ and 80+ tiers come from the birth date.",
        )

    @extend_schema(
        operation_id="check_ins_create",
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                {"type": "string", "maxLength": 128},
                OpenApiParameter.HEADER,
                description=(
                    "Optional, at most 128 characters. Repeating a key returns the first "
                    "check-in (200) instead of creating another; reusing it with a different "
                    "request answers 422. Keys are the caller's own: another user or partner "
                    "sending the same key makes its own check-in."
                ),
            )
        ],
        responses={
            202: CheckInAcceptedSerializer,
            200: OpenApiResponse(CheckInAcceptedSerializer, "Replay of an Idempotency-Key."),
            422: OpenApiResponse(description="Idempotency-Key reused for another request."),
        },
        examples=examples.CHECKIN_CREATE,
    )
    def post(self, request):
        key = request.headers.get(IDEMPOTENCY_HEADER) or None
        if key is not None and len(key) > 128:
            raise serializers.ValidationError(
                {"idempotency_key": "The Idempotency-Key header is at most 128 characters."}
            )
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        partner_registration_check(request, cpf=data["cpf"], registration=data.get("patient"))
        trail = access_actor(request)
        try:
            checkin, created = checkin_create(
                cpf=data["cpf"],
                registration=data.get("patient"),
                service_id=data.get("service"),
                priority_reason=data.get("priority_reason") or "",
                idempotency_key=key,
                actor_email=trail.user_email,
                actor_role=trail.role,
                actor_address=trail.address,
                **actor_fields(request),
            )
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        except IdempotencyKeyReused:
            raise IdempotencyKeyConflict() from None
        body = CheckInAcceptedSerializer(
            {
                "id": checkin.pk,
                "status": checkin.status,
                "status_url": _status_url(request, checkin),
                "created_at": checkin.created_at,
            }
        ).data
        answer = Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)
        answer["Location"] = body["status_url"]
        if not created:
            answer["Idempotent-Replayed"] = "true"
        return answer


class CheckInDetailApi(APIView):
    """The state of a check-in: pending, queued with its ticket, or failed with the reason."""

    allowed_roles = ALL_STAFF
    manager_access = True
    partner_access = "read"
    permission_classes = [ClinicAccess]

    class OutputSerializer(serializers.Serializer):
        class TicketSerializer(serializers.Serializer):
            class ServiceSerializer(serializers.Serializer):
                id = serializers.IntegerField()
                name = serializers.CharField()
                prefix = serializers.CharField()

            id = serializers.IntegerField()
            display_code = serializers.CharField()
            status = serializers.CharField()
            priority_tier = serializers.IntegerField(
                allow_null=True, help_text="Null for principals outside the clinic's staff."
            )
            priority_reason = serializers.CharField(
                allow_null=True, help_text="Null for principals outside the clinic's staff."
            )
            service = ServiceSerializer()
            position = serializers.IntegerField(allow_null=True)
            estimated_wait_minutes = serializers.IntegerField(allow_null=True)

        id = serializers.UUIDField()
        status = serializers.ChoiceField(choices=["pending", "queued", "failed"])
        cpf = serializers.CharField(
            allow_null=True,
            help_text="Masked: ***.456.789-**. Only for reception (receptionist, clinic admin) "
            "and the partner that made the check-in; null for everyone else.",
        )
        created_at = serializers.DateTimeField()
        processed_at = serializers.DateTimeField(allow_null=True)
        failure_reason = serializers.CharField(allow_blank=True)
        ticket = TicketSerializer(allow_null=True)

    @extend_schema(
        operation_id="check_ins_retrieve",
        responses={200: OutputSerializer},
        examples=examples.CHECKIN_DETAIL,
    )
    def get(self, request, checkin_id):
        partner = request.user if isinstance(request.user, PartnerPrincipal) else None
        # A partner reads only the check-ins it made; any other answers 404, as if none existed.
        checkin = checkin_get(
            checkin_id=checkin_id,
            partner_client_id=partner.client_id if partner is not None else None,
        )
        if checkin is None:
            raise Http404
        ticket = None
        if checkin.ticket is not None:
            # The same position and estimate as the queue view shows for this ticket.
            position, estimate = ticket_position_and_estimate(ticket=checkin.ticket)
            # The tier tells the stored birth date's age, the reason a health condition: clinic
            # staff only (a partner would learn whether and how old a patient it sent is).
            staff = shows_patients(request)
            ticket = {
                "id": checkin.ticket.pk,
                "display_code": checkin.ticket.display_code,
                "status": checkin.ticket.status,
                "priority_tier": checkin.ticket.priority_tier if staff else None,
                "priority_reason": checkin.ticket.priority_reason if staff else None,
                "service": checkin.ticket.service,
                "position": position,
                "estimated_wait_minutes": estimate,
            }
        data = {
            "id": checkin.pk,
            "status": checkin.status,
            "cpf": cpf_mask(checkin.cpf) if _may_see_checkin_cpf(request) else None,
            "created_at": checkin.created_at,
            "processed_at": checkin.processed_at,
            "failure_reason": checkin.failure_reason,
            "ticket": ticket,
        }
        return Response(self.OutputSerializer(data).data)


def _may_see_checkin_cpf(request) -> bool:
    """Reception and the partner that sent the CPF see it masked; clinicians, chain managers and
    read partners never see a CPF."""
    if isinstance(request.user, PartnerPrincipal):
        return request.user.can_write
    return request_clinic_role(request) in RECEPTION


urlpatterns = [
    path("check-ins/", CheckInCreateApi.as_view(), name="checkins-create"),
    path("check-ins/<uuid:checkin_id>/", CheckInDetailApi.as_view(), name="checkins-detail"),
]
