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
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from accounts.permissions import ChainManagerAccess
from common.api import (
    DateField,
    date_range_checked,
    django_validation_to_api,
    query_params_validate,
)
from common.net import request_origin
from tenants.models import Chain, Clinic
from tenants.schedules import reset_periodic_task_name
from tenants.selectors import (
    CHAIN_PAGE_SIZE,
    MAX_CHAIN_PAGE_SIZE,
    chain_clinics_page,
    chain_day_summaries,
    chain_get_for_user,
    chain_list_for_user,
    chain_live_totals,
    clinic_get_for_user,
    clinic_hostname,
    clinic_live_values,
)
from tenants.services import SLUG_RE, clinic_open, clinic_update_settings

MAX_STATS_DAYS = 366
STATS_PAGE_SIZE = 200
MAX_STATS_PAGE_SIZE = 1000


class PageParamsSerializer(serializers.Serializer):
    page = serializers.IntegerField(
        required=False, min_value=1, max_value=1_000_000, default=1, help_text="From 1."
    )
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_STATS_PAGE_SIZE, help_text="Rows per page."
    )


def _page_links(request, *, page: int, pages: int) -> dict:
    url = request.build_absolute_uri()
    return {
        "next": replace_query_param(url, "page", page + 1) if page < pages else None,
        "previous": (
            None
            if page <= 1
            else replace_query_param(url, "page", page - 1)
            if page > 2
            else remove_query_param(url, "page")
        ),
    }


def _paged(serializer_class, *, ref_name: str, extra: dict | None = None):
    """An envelope {count, next, previous, results[, extra…]} for the OpenAPI document."""
    fields = {
        "count": serializers.IntegerField(help_text="Rows in all pages."),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": serializer_class(many=True),
        **(extra or {}),
    }
    meta = type("Meta", (), {"ref_name": ref_name})
    return type(ref_name + "Serializer", (serializers.Serializer,), {**fields, "Meta": meta})


def _chain_or_404(request, chain_id: int) -> Chain:
    chain = chain_get_for_user(user=request.user, chain_id=chain_id)
    if chain is None:
        raise Http404("No such chain.")
    return chain


def _clinic_or_404(request, slug: str) -> Clinic:
    # Not a slug (a NUL character, which PostgreSQL refuses in text) is no clinic either.
    clinic = clinic_get_for_user(user=request.user, slug=slug) if SLUG_RE.fullmatch(slug) else None
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
                "from": DateField(
                    required=False, source="date_from", help_text="First day (YYYY-MM-DD)."
                ),
                "to": DateField(required=False, source="date_to", help_text="Last day, inclusive."),
            }

        def validate(self, attrs):
            date_to = attrs.get("date_to") or timezone.localdate() - datetime.timedelta(days=1)
            week = min(datetime.timedelta(days=6), date_to - datetime.date.min)
            date_from = attrs.get("date_from") or date_to - week
            return date_range_checked(date_from=date_from, date_to=date_to, max_days=MAX_STATS_DAYS)

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
        appointment_no_shows = serializers.IntegerField(
            help_text="Booked patients who never came: appointments the reset marked no-show."
        )
        wait_avg_s = serializers.FloatField(allow_null=True)
        wait_p90_s = serializers.FloatField(allow_null=True)
        service_avg_s = serializers.FloatField(allow_null=True)
        within_target_share = serializers.FloatField(allow_null=True)
        by_service = serializers.JSONField()
        break_s = serializers.FloatField(help_text="Seconds the clinic's desks were on breaks.")
        by_desk = serializers.JSONField(help_text="[{desk_id, desk, break_s}] per desk.")

    @extend_schema(
        operation_id="chain_stats",
        summary="Daily figures of every clinic of a chain",
        description="One row per clinic and closed service day (days are closed by each "
        "clinic's daily reset; a day without tickets or appointments has no row), by day then "
        "clinic name, "
        f"{STATS_PAGE_SIZE} rows a page unless `page_size` says otherwise (at most "
        f"{MAX_STATS_PAGE_SIZE}); `next` links the following page. Defaults to the last 7 days.",
        parameters=[FilterSerializer, PageParamsSerializer],
        responses={
            200: _paged(OutputSerializer, ref_name="ClinicDaySummaryPage"),
        },
        tags=["chains"],
    )
    def get(self, request, chain_id: int):
        chain = _chain_or_404(request, chain_id)
        filters = query_params_validate(request=request, serializer_class=self.FilterSerializer)
        paging = query_params_validate(request=request, serializer_class=PageParamsSerializer)
        size = paging.get("page_size") or STATS_PAGE_SIZE
        summaries = chain_day_summaries(chain=chain, **filters)
        count = summaries.count()
        start = (paging["page"] - 1) * size
        rows = summaries[start : start + size]
        pages = max(1, -(-count // size))
        return Response(
            {
                "count": count,
                **_page_links(request, page=paging["page"], pages=pages),
                "results": self.OutputSerializer(rows, many=True).data,
            }
        )


class LiveFiguresSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ClinicToday"

    clinic = serializers.CharField(source="clinic.schema_name")
    clinic_name = serializers.CharField(source="clinic.name")
    timezone = serializers.CharField(source="clinic.timezone")
    is_active = serializers.BooleanField(source="clinic.is_active")
    service_day = serializers.DateField(allow_null=True, help_text="The clinic's local today.")
    tickets = serializers.IntegerField(allow_null=True)
    waiting = serializers.IntegerField(allow_null=True, help_text="Waiting now.")
    at_desks = serializers.IntegerField(allow_null=True, help_text="Called or in service now.")
    served = serializers.IntegerField(allow_null=True)
    no_shows = serializers.IntegerField(allow_null=True)
    cancelled = serializers.IntegerField(allow_null=True)
    called = serializers.IntegerField(allow_null=True)
    wait_avg_s = serializers.FloatField(allow_null=True)
    wait_p90_s = serializers.FloatField(allow_null=True)
    service_avg_s = serializers.FloatField(allow_null=True)
    within_target_share = serializers.FloatField(allow_null=True)
    desks_open = serializers.IntegerField(allow_null=True)
    desks_on_break = serializers.IntegerField(allow_null=True)
    break_s = serializers.FloatField(allow_null=True)
    refreshed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the figures were read from the clinic."
    )


class ChainTotalsSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ChainToday"

    class HourSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ChainTodayHour"

        hour = serializers.IntegerField(help_text="Each clinic's local hour.")
        arrivals = serializers.IntegerField()
        calls = serializers.IntegerField()

    clinics = serializers.IntegerField(help_text="Active clinics.")
    tickets = serializers.IntegerField()
    waiting = serializers.IntegerField()
    at_desks = serializers.IntegerField()
    served = serializers.IntegerField()
    no_shows = serializers.IntegerField()
    called = serializers.IntegerField()
    wait_avg_s = serializers.FloatField(allow_null=True)
    break_s = serializers.FloatField()
    desks_on_break = serializers.IntegerField()
    hours = HourSerializer(many=True)


def chain_today_rows(*, clinics: list[Clinic]) -> list[dict]:
    """Each clinic of a page with its figures today (nulls for inactive or never-read ones)."""
    rows = []
    for clinic in clinics:
        values = clinic_live_values(clinic=clinic) or {}
        rows.append({"clinic": clinic, **values})
    return rows


class ChainTodayApi(APIView):
    """Every clinic's figures today, a page at a time, and the chain's totals."""

    permission_classes = [ChainManagerAccess]

    class PageSerializer(serializers.Serializer):
        page = serializers.IntegerField(
            required=False, min_value=1, max_value=1_000_000, default=1, help_text="From 1."
        )
        page_size = serializers.IntegerField(
            required=False,
            min_value=1,
            max_value=MAX_CHAIN_PAGE_SIZE,
            default=CHAIN_PAGE_SIZE,
            help_text=f"Clinics per page (default {CHAIN_PAGE_SIZE}, at most "
            f"{MAX_CHAIN_PAGE_SIZE}).",
        )

    @extend_schema(
        operation_id="chain_today",
        summary="Today's figures of a chain's clinics",
        description="Clinics by name, a page at a time, each with its figures of its local "
        "today (kept current within seconds of each change, read from the public schema), and "
        "`totals` across all the chain's active clinics with arrivals and calls per local hour.",
        parameters=[PageSerializer],
        responses={
            200: _paged(
                LiveFiguresSerializer,
                ref_name="ChainTodayPage",
                extra={"totals": ChainTotalsSerializer()},
            )
        },
        tags=["chains"],
    )
    def get(self, request, chain_id: int):
        chain = _chain_or_404(request, chain_id)
        paging = query_params_validate(request=request, serializer_class=self.PageSerializer)
        page = chain_clinics_page(chain=chain, page=paging["page"], page_size=paging["page_size"])
        return Response(
            {
                "count": page.count,
                **_page_links(request, page=page.page, pages=page.pages),
                "results": LiveFiguresSerializer(
                    chain_today_rows(clinics=page.clinics), many=True
                ).data,
                "totals": ChainTotalsSerializer(chain_live_totals(chain=chain)).data,
            }
        )
