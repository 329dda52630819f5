"""Chain API on the public host: a manager's chains, their clinics, settings and daily figures.

Chain managers (active ChainMembership) see and change only their own chains; platform staff see
every chain. Another chain's ids and slugs answer 404, as if they did not exist.
"""

import datetime
import zoneinfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ChainManagerAccess
from common.api import django_validation_to_api, query_params_validate
from common.net import request_origin
from tenants.models import Chain, Clinic
from tenants.schedules import reset_periodic_task_name
from tenants.selectors import (
    chain_day_summaries,
    chain_get_for_user,
    chain_list_for_user,
    clinic_get_for_user,
    clinic_hostname,
)
from tenants.services import SLUG_RE, clinic_open, clinic_update_settings

MAX_STATS_DAYS = 366


def _chain_or_404(request, chain_id: int) -> Chain:
    chain = chain_get_for_user(user=request.user, chain_id=chain_id)
    if chain is None:
        raise Http404("No such chain.")
    return chain


def _clinic_or_404(request, slug: str) -> Clinic:
    # Not a slug (a NUL character, which PostgreSQL refuses in text) is no clinic either.
    clinic = clinic_get_for_user(user=request.user, slug=slug) if SLUG_RE.match(slug) else None
    if clinic is None:
        raise Http404("No such clinic.")
    return clinic


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise serializers.ValidationError(
            f'"{value}" is not an IANA timezone name (e.g. America/Sao_Paulo).', code="invalid"
        )


@extend_schema_field(
    {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "07:30"}
)
class HourMinuteField(serializers.TimeField):
    """A time of day as HH:MM (OpenAPI's `time` format would promise seconds too)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class ClinicOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "Clinic"

    slug = serializers.CharField(source="schema_name")
    name = serializers.CharField()
    chain_id = serializers.IntegerField()
    timezone = serializers.CharField()
    reset_time = HourMinuteField()
    is_active = serializers.BooleanField()
    host = serializers.SerializerMethodField()
    reset_task = serializers.SerializerMethodField()

    def get_host(self, clinic: Clinic) -> str:
        return clinic_hostname(clinic=clinic)

    def get_reset_task(self, clinic: Clinic) -> str:
        return reset_periodic_task_name(schema_name=clinic.schema_name)


class ChainListApi(APIView):
    permission_classes = [ChainManagerAccess]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Chain"

        id = serializers.IntegerField()
        name = serializers.CharField()
        slug = serializers.CharField()
        clinics = serializers.IntegerField(source="clinic_count")

    @extend_schema(
        operation_id="chains_list",
        summary="Chains you manage",
        responses={200: OutputSerializer(many=True)},
        tags=["chains"],
    )
    def get(self, request):
        chains = chain_list_for_user(user=request.user).annotate(clinic_count=Count("clinics"))
        return Response(self.OutputSerializer(chains, many=True).data)


class ChainClinicsApi(APIView):
    """List a chain's clinics (GET) or open a new one (POST)."""

    permission_classes = [ChainManagerAccess]

    class ProvisionInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ClinicProvision"

        slug = serializers.CharField(
            max_length=63,
            help_text="Lower-case letters, digits and '_'; becomes the schema and the host.",
        )
        name = serializers.CharField(max_length=120)
        timezone = serializers.CharField(
            max_length=64, validators=[validate_timezone], default="America/Sao_Paulo"
        )
        reset_time = serializers.TimeField(
            default=datetime.time(0, 0), help_text="Local time of the daily reset, HH:MM."
        )
        admin_email = serializers.EmailField(
            required=False,
            allow_blank=True,
            help_text="The clinic's first clinic admin: invited by e-mail with a link to choose "
            "a password.",
        )
        admin_name = serializers.CharField(max_length=150, required=False, allow_blank=True)

    @extend_schema(
        operation_id="chain_clinics_list",
        summary="Clinics of a chain",
        responses={200: ClinicOutputSerializer(many=True)},
        tags=["chains"],
    )
    def get(self, request, chain_id: int):
        chain = _chain_or_404(request, chain_id)
        clinics = chain.clinics.order_by("name")
        return Response(ClinicOutputSerializer(clinics, many=True).data)

    @extend_schema(
        operation_id="chain_clinics_provision",
        summary="Open a clinic in the chain",
        description="Creates the clinic's schema, host, default service, default panel and "
        "daily reset task; with `admin_email`, invites the clinic's first clinic admin.",
        request=ProvisionInputSerializer,
        responses={201: ClinicOutputSerializer},
        tags=["chains"],
    )
    def post(self, request, chain_id: int):
        chain = _chain_or_404(request, chain_id)
        data = self.ProvisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            clinic = clinic_open(chain=chain, origin=request_origin(request), **data.validated_data)
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        return Response(ClinicOutputSerializer(clinic).data, status=status.HTTP_201_CREATED)


class ClinicSettingsApi(APIView):
    """Read (GET) or change (PATCH) a clinic's settings; its reset task follows."""

    permission_classes = [ChainManagerAccess]

    class UpdateInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ClinicSettingsUpdate"

        name = serializers.CharField(max_length=120, required=False)
        timezone = serializers.CharField(
            max_length=64, validators=[validate_timezone], required=False
        )
        reset_time = serializers.TimeField(required=False, help_text="HH:MM, clinic-local.")
        is_active = serializers.BooleanField(required=False)

    @extend_schema(
        operation_id="clinic_settings_get",
        summary="A clinic's settings",
        responses={200: ClinicOutputSerializer},
        tags=["clinics"],
    )
    def get(self, request, slug: str):
        return Response(ClinicOutputSerializer(_clinic_or_404(request, slug)).data)

    @extend_schema(
        operation_id="clinic_settings_update",
        summary="Change a clinic's name, timezone, reset time or active flag",
        description="A new timezone or reset time moves the clinic's daily reset; deactivating "
        "pauses it.",
        request=UpdateInputSerializer,
        responses={200: ClinicOutputSerializer},
        tags=["clinics"],
    )
    def patch(self, request, slug: str):
        clinic = _clinic_or_404(request, slug)
        data = self.UpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            clinic = clinic_update_settings(clinic=clinic, **data.validated_data)
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        return Response(ClinicOutputSerializer(clinic).data)


class ChainStatsApi(APIView):
    permission_classes = [ChainManagerAccess]

    class FilterSerializer(serializers.Serializer):
        def get_fields(self):
            # The query parameters are `from` and `to`, and `from` is a Python keyword.
            return {
                "from": serializers.DateField(
                    required=False, source="date_from", help_text="First day (YYYY-MM-DD)."
                ),
                "to": serializers.DateField(
                    required=False, source="date_to", help_text="Last day, inclusive."
                ),
            }

        def validate(self, attrs):
            date_to = attrs.get("date_to") or timezone.localdate() - datetime.timedelta(days=1)
            week = min(datetime.timedelta(days=6), date_to - datetime.date.min)
            date_from = attrs.get("date_from") or date_to - week
            if date_from > date_to:
                raise serializers.ValidationError({"from": "`from` must not be after `to`."})
            if (date_to - date_from).days >= MAX_STATS_DAYS:
                raise serializers.ValidationError(
                    {"from": f"Ask for at most {MAX_STATS_DAYS} days at a time."}
                )
            return {"date_from": date_from, "date_to": date_to}

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ClinicDaySummary"

        clinic = serializers.CharField(source="clinic.schema_name")
        clinic_name = serializers.CharField(source="clinic.name")
        service_day = serializers.DateField()
        tickets = serializers.IntegerField()
        served = serializers.IntegerField()
        no_shows = serializers.IntegerField()
        cancelled = serializers.IntegerField()
        expired = serializers.IntegerField()
        transferred = serializers.IntegerField()
        wait_avg_s = serializers.FloatField(allow_null=True)
        wait_p90_s = serializers.FloatField(allow_null=True)
        service_avg_s = serializers.FloatField(allow_null=True)
        within_target_share = serializers.FloatField(allow_null=True)
        by_service = serializers.JSONField()

    @extend_schema(
        operation_id="chain_stats",
        summary="Daily figures of every clinic of a chain",
        description="One row per clinic and closed service day (days are closed by each "
        "clinic's daily reset; a day without tickets has no row). Defaults to the last 7 days.",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True)},
        tags=["chains"],
    )
    def get(self, request, chain_id: int):
        chain = _chain_or_404(request, chain_id)
        filters = query_params_validate(request=request, serializer_class=self.FilterSerializer)
        summaries = chain_day_summaries(chain=chain, **filters)
        return Response(self.OutputSerializer(summaries, many=True).data)
