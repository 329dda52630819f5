"""Services and desks: read by staff, managers and partners; changed by clinic admins."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ADMIN, ALL_STAFF, ClinicAccess
from common.api import IdField, django_validation_to_api
from queueing.api import examples
from queueing.models import Desk, PriorityPolicy, Service
from queueing.selectors.queue import desk_list, service_list
from queueing.services.setup import desk_create, desk_update, service_create, service_update


class _SetupAccess(APIView):
    """Reads for all staff, chain managers and read partners; writes for clinic admins only."""

    permission_classes = [ClinicAccess]
    manager_access = True

    @property
    def allowed_roles(self):
        return ALL_STAFF if self.request.method in SAFE_METHODS else ADMIN

    @property
    def partner_access(self):
        return "read" if self.request.method in SAFE_METHODS else None


class ServiceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    is_active = serializers.BooleanField()
    is_default = serializers.BooleanField(help_text="Takes check-ins that name no service.")
    target_wait_minutes = serializers.IntegerField()
    priority_policy = serializers.ChoiceField(choices=PriorityPolicy.choices)
    interleave_after = serializers.IntegerField(allow_null=True)
    appointment_early_minutes = serializers.IntegerField(
        help_text="A booked patient arriving up to this many minutes early is ranked at the "
        "booked time."
    )
    appointment_late_minutes = serializers.IntegerField(
        help_text="... and up to this many minutes late; later, the patient queues as a walk-in."
    )
    display_order = serializers.IntegerField(help_text="Lists show lower numbers first.")


class ServiceInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    prefix = serializers.CharField(
        max_length=3, help_text="1 to 3 upper-case letters; ticket codes read R001, TRI012."
    )
    is_active = serializers.BooleanField(default=True)
    target_wait_minutes = serializers.IntegerField(min_value=1, max_value=1440, default=30)
    priority_policy = serializers.ChoiceField(
        choices=PriorityPolicy.choices, default=PriorityPolicy.STRICT
    )
    interleave_after = serializers.IntegerField(
        min_value=1,
        max_value=50,
        required=False,
        allow_null=True,
        help_text="With `interleave`: a normal ticket is called after this many priority calls.",
    )
    appointment_early_minutes = serializers.IntegerField(
        min_value=0,
        max_value=720,
        default=30,
        help_text="A booked patient arriving up to this many minutes early is ranked at the "
        "booked time (docs/queue.md, Appointments).",
    )
    appointment_late_minutes = serializers.IntegerField(
        min_value=0,
        max_value=720,
        default=15,
        help_text="A booked patient arriving up to this many minutes late keeps the booked "
        "time; later, they queue as a walk-in.",
    )
    display_order = serializers.IntegerField(
        min_value=0, max_value=999, default=0, help_text="Lists show lower numbers first."
    )

    def validate_prefix(self, value: str) -> str:
        return value.strip().upper()


def _save(write, **kwargs):
    try:
        return write(**kwargs)
    except DjangoValidationError as error:
        raise django_validation_to_api(error) from None


class ServiceListCreateApi(_SetupAccess):
    """GET: the clinic's services. POST (clinic admins): a new service."""

    @extend_schema(
        operation_id="services_list", responses={200: ServiceOutputSerializer(many=True)}
    )
    def get(self, request):
        return Response(ServiceOutputSerializer(service_list(), many=True).data)

    @extend_schema(
        operation_id="services_create",
        request=ServiceInputSerializer,
        responses={201: ServiceOutputSerializer},
        examples=examples.SERVICE_CREATE,
    )
    def post(self, request):
        serializer = ServiceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service = _save(service_create, **serializer.validated_data)
        return Response(ServiceOutputSerializer(service).data, status=status.HTTP_201_CREATED)


class ServiceDetailApi(_SetupAccess):
    """GET: one service. PATCH (clinic admins): change any of its fields."""

    @extend_schema(operation_id="services_retrieve", responses={200: ServiceOutputSerializer})
    def get(self, request, service_id: int):
        service = Service.objects.filter(pk=service_id).first()
        if service is None:
            raise Http404
        return Response(ServiceOutputSerializer(service).data)

    @extend_schema(
        operation_id="services_partial_update",
        request=ServiceInputSerializer(partial=True),
        responses={200: ServiceOutputSerializer},
        examples=examples.SERVICE_UPDATE,
    )
    def patch(self, request, service_id: int):
        service = Service.objects.filter(pk=service_id).first()
        if service is None:
            raise Http404
        serializer = ServiceInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        service = _save(service_update, service=service, **serializer.validated_data)
        return Response(ServiceOutputSerializer(service).data)


class DeskOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    services = serializers.SerializerMethodField()
    break_reason = serializers.CharField(
        help_text="Why the desk is closed now (lunch, break, meeting, other); empty when open."
    )
    break_started_at = serializers.DateTimeField(
        allow_null=True, help_text="When the current break started; null when open."
    )

    def get_services(self, desk) -> list[int]:
        return [service.pk for service in desk.services.all()]


class DeskInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    services = serializers.ListField(
        child=IdField(),
        allow_empty=False,
        help_text="Ids of the services this desk calls.",
    )
    is_active = serializers.BooleanField(default=True)


def _desk_kwargs(data: dict) -> dict:
    kwargs = dict(data)
    if "services" in kwargs:
        kwargs["service_ids"] = kwargs.pop("services")
    return kwargs


class DeskListCreateApi(_SetupAccess):
    """GET: the clinic's desks and rooms. POST (clinic admins): a new desk."""

    @extend_schema(operation_id="desks_list", responses={200: DeskOutputSerializer(many=True)})
    def get(self, request):
        return Response(DeskOutputSerializer(desk_list(), many=True).data)

    @extend_schema(
        operation_id="desks_create",
        request=DeskInputSerializer,
        responses={201: DeskOutputSerializer},
        examples=examples.DESK_CREATE,
    )
    def post(self, request):
        serializer = DeskInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        desk = _save(desk_create, **_desk_kwargs(serializer.validated_data))
        desk = desk_list().get(pk=desk.pk)
        return Response(DeskOutputSerializer(desk).data, status=status.HTTP_201_CREATED)


class DeskDetailApi(_SetupAccess):
    """GET: one desk. PATCH (clinic admins): rename, change services, (de)activate."""

    @extend_schema(operation_id="desks_retrieve", responses={200: DeskOutputSerializer})
    def get(self, request, desk_id: int):
        desk = desk_list().filter(pk=desk_id).first()
        if desk is None:
            raise Http404
        return Response(DeskOutputSerializer(desk).data)

    @extend_schema(
        operation_id="desks_partial_update",
        request=DeskInputSerializer(partial=True),
        responses={200: DeskOutputSerializer},
        examples=examples.DESK_UPDATE,
    )
    def patch(self, request, desk_id: int):
        desk = Desk.objects.filter(pk=desk_id).first()
        if desk is None:
            raise Http404
        serializer = DeskInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        desk = _save(desk_update, desk=desk, **_desk_kwargs(serializer.validated_data))
        desk = desk_list().get(pk=desk.pk)
        return Response(DeskOutputSerializer(desk).data)


urlpatterns = [
    path("services/", ServiceListCreateApi.as_view(), name="services"),
    path("services/<int:service_id>/", ServiceDetailApi.as_view(), name="services-detail"),
    path("desks/", DeskListCreateApi.as_view(), name="desks"),
    path("desks/<int:desk_id>/", DeskDetailApi.as_view(), name="desks-detail"),
]
