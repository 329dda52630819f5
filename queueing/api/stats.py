"""Today's figures of a clinic, per service."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ALL_STAFF, ClinicAccess
from queueing.api import examples
from queueing.clock import service_day_today
from queueing.selectors.figures import day_figures_get
from queueing.selectors.report import desk_break_figures


class StatsTodayApi(APIView):
    """Today's figures per service (the clinic's local day so far).

    Wait is issued → first call; service time is started → finished of served (done) tickets;
    both in seconds. p90 is PostgreSQL's percentile_cont(0.9) (linear interpolation).
    within_target_share is the share of called tickets whose wait was within the service's
    target wait (0–1; null when nobody was called yet). `desks` gives each desk's break time
    today and the break it is on now.
    """

    allowed_roles = ALL_STAFF
    manager_access = True
    partner_access = "read"
    permission_classes = [ClinicAccess]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StatsToday"

        class ServiceFiguresSerializer(serializers.Serializer):
            class Meta:
                ref_name = "ServiceFigures"

            service_id = serializers.IntegerField()
            service = serializers.CharField()
            prefix = serializers.CharField()
            target_wait_minutes = serializers.IntegerField()
            tickets = serializers.IntegerField()
            waiting = serializers.IntegerField(help_text="Waiting now.")
            called_now = serializers.IntegerField()
            in_service = serializers.IntegerField()
            served = serializers.IntegerField()
            no_shows = serializers.IntegerField()
            cancelled = serializers.IntegerField()
            transferred = serializers.IntegerField()
            expired = serializers.IntegerField(help_text="Closed by the daily reset while open.")
            called = serializers.IntegerField(help_text="Tickets called at least once.")
            wait_avg_s = serializers.FloatField(allow_null=True)
            wait_p90_s = serializers.FloatField(allow_null=True)
            service_avg_s = serializers.FloatField(allow_null=True)
            within_target_share = serializers.FloatField(allow_null=True)

        class DeskFiguresSerializer(serializers.Serializer):
            class Meta:
                ref_name = "DeskBreakFigures"

            desk_id = serializers.IntegerField()
            desk = serializers.CharField()
            on_break = serializers.CharField(
                help_text="The reason of the break the desk is on now; empty when open."
            )
            break_s = serializers.FloatField(help_text="Seconds on breaks today so far.")

        service_day = serializers.DateField()
        services = ServiceFiguresSerializer(many=True)
        desks = DeskFiguresSerializer(many=True)

    @extend_schema(
        operation_id="stats_today",
        responses={200: OutputSerializer},
        examples=examples.STATS_TODAY,
    )
    def get(self, request):
        today = service_day_today()
        data = {
            "service_day": today,
            "services": day_figures_get(service_day=today).services,
            "desks": desk_break_figures(service_day=today),
        }
        return Response(self.OutputSerializer(data).data)


urlpatterns = [path("stats/today/", StatsTodayApi.as_view(), name="stats-today")]
