"""The clinic's figures over a range of days (JSON and CSV): clinic admins and chain managers."""

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ADMIN, ClinicAccess
from common.api import DateField, date_range_checked, query_params_validate
from queueing.clock import service_day_today
from queueing.selectors.report import (
    MAX_REPORT_DAYS,
    FiguresReport,
    figures_report_csv,
    figures_report_get,
)


class FiguresFilterSerializer(serializers.Serializer):
    """`from` and `to` (service days, inclusive); both default to today."""

    def get_fields(self):
        # The query parameters are `from` and `to`, and `from` is a Python keyword.
        return {
            "from": DateField(
                required=False,
                source="date_from",
                help_text="First service day (YYYY-MM-DD); default today.",
            ),
            "to": DateField(
                required=False,
                source="date_to",
                help_text="Last service day, inclusive; default `from`.",
            ),
        }

    def validate(self, attrs):
        date_from = attrs.get("date_from") or attrs.get("date_to") or service_day_today()
        date_to = attrs.get("date_to") or max(date_from, attrs.get("date_from") or date_from)
        return date_range_checked(date_from=date_from, date_to=date_to, max_days=MAX_REPORT_DAYS)


class FiguresOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "FiguresReport"

    class TotalsSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FiguresTotals"

        arrivals = serializers.IntegerField(help_text="Tickets that entered (not transfers).")
        calls = serializers.IntegerField(help_text="Tickets called at least once.")
        served = serializers.IntegerField()
        no_shows = serializers.IntegerField()
        cancelled = serializers.IntegerField()
        wait_p50_s = serializers.FloatField(allow_null=True)
        wait_p90_s = serializers.FloatField(allow_null=True)
        service_avg_s = serializers.FloatField(allow_null=True)
        within_target_share = serializers.FloatField(allow_null=True)
        break_s = serializers.FloatField()
        out_of_order_calls = serializers.IntegerField(help_text="Chosen tickets called.")

    class HourSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FiguresHour"

        hour = serializers.IntegerField(help_text="Clinic-local hour, 0–23.")
        arrivals = serializers.IntegerField()
        calls = serializers.IntegerField(help_text="First calls in this hour.")
        wait_p50_s = serializers.FloatField(allow_null=True, help_text="Of tickets issued then.")
        wait_p90_s = serializers.FloatField(allow_null=True)

    class ServiceSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FiguresService"

        service_id = serializers.IntegerField()
        service = serializers.CharField()
        prefix = serializers.CharField()
        target_wait_minutes = serializers.IntegerField()
        arrivals = serializers.IntegerField()
        calls = serializers.IntegerField()
        served = serializers.IntegerField()
        no_shows = serializers.IntegerField()
        cancelled = serializers.IntegerField()
        wait_p50_s = serializers.FloatField(allow_null=True)
        wait_p90_s = serializers.FloatField(allow_null=True)
        service_avg_s = serializers.FloatField(allow_null=True)
        within_target_share = serializers.FloatField(allow_null=True)

    class AttendantSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FiguresAttendant"

        user_id = serializers.IntegerField(allow_null=True, help_text="Null: called by a partner.")
        attendant = serializers.CharField()
        calls = serializers.IntegerField()
        served = serializers.IntegerField()
        service_avg_s = serializers.FloatField(allow_null=True)
        service_total_s = serializers.FloatField()

    class DeskSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FiguresDesk"

        desk_id = serializers.IntegerField()
        desk = serializers.CharField()
        calls = serializers.IntegerField()
        served = serializers.IntegerField()
        service_avg_s = serializers.FloatField(allow_null=True)
        break_s = serializers.FloatField()
        out_of_order_calls = serializers.IntegerField(help_text="Chosen tickets it called.")

    class OutOfOrderSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FiguresOutOfOrder"

        service_day = serializers.DateField()
        desk_id = serializers.IntegerField(allow_null=True)
        desk = serializers.CharField()
        calls = serializers.IntegerField(help_text="Chosen tickets called out of order.")

    date_from = serializers.DateField()
    date_to = serializers.DateField()
    totals = TotalsSerializer()
    hours = HourSerializer(many=True)
    services = ServiceSerializer(many=True)
    attendants = AttendantSerializer(many=True)
    desks = DeskSerializer(many=True)
    out_of_order = OutOfOrderSerializer(many=True)


def figures_csv_response(*, report: FiguresReport, clinic_name: str, slug: str) -> HttpResponse:
    response = HttpResponse(
        figures_report_csv(report=report, clinic_name=clinic_name),
        content_type="text/csv; charset=utf-8",
    )
    name = f"figures-{slug}-{report.date_from.isoformat()}-{report.date_to.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class _FiguresAccess(APIView):
    allowed_roles = ADMIN
    manager_access = True
    partner_access = None
    permission_classes = [ClinicAccess]


_DESCRIPTION = (
    "Arrivals and calls per clinic-local hour, wait p50/p90 per hour and per service, calls, "
    "served and service time per attendant and per desk, no-shows, break time per desk and "
    "the share within each service's target, over the service days `from`..`to`. Wait is "
    "issued → first call; service time is started → finished of served tickets; durations are "
    "seconds; p50/p90 are percentile_cont (linear interpolation)."
)


class FiguresApi(_FiguresAccess):
    @extend_schema(
        operation_id="figures_retrieve",
        summary="The clinic's figures over a range of days",
        description=_DESCRIPTION,
        parameters=[FiguresFilterSerializer],
        responses={200: FiguresOutputSerializer},
    )
    def get(self, request):
        filters = query_params_validate(request=request, serializer_class=FiguresFilterSerializer)
        report = figures_report_get(**filters)
        return Response(FiguresOutputSerializer(report).data)


class FiguresCsvApi(_FiguresAccess):
    @extend_schema(
        operation_id="figures_csv",
        summary="The same figures as CSV",
        description="UTF-8 with a BOM, `;` between cells and decimal commas (what pt-BR "
        "spreadsheets open as is): one block per section (totals, hours, services, attendants, "
        "desks) with the JSON answer's keys as its header. " + _DESCRIPTION,
        parameters=[FiguresFilterSerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The figures as CSV.")
        },
    )
    def get(self, request):
        filters = query_params_validate(request=request, serializer_class=FiguresFilterSerializer)
        clinic = request.tenant
        return figures_csv_response(
            report=figures_report_get(**filters), clinic_name=clinic.name, slug=clinic.schema_name
        )


urlpatterns = [
    path("figures/", FiguresApi.as_view(), name="figures"),
    path("figures/csv/", FiguresCsvApi.as_view(), name="figures-csv"),
]
