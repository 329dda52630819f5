"""Today's queue of a clinic: the tickets at desks and those waiting, in call order."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ALL_STAFF, ClinicAccess
from common.api import IdField, query_params_validate
from queueing.api import examples
from queueing.api.serializers import TicketOutputSerializer, ticket_data
from queueing.clock import service_day_today
from queueing.selectors.queue import queue_today


class QueueApi(APIView):
    """Today's open tickets per service: at desks first, then waiting in call order.

    Waiting tickets carry their position (1 = next) and estimated wait in minutes:
    ceil(position / active desks) × mean called → finished minutes of the service's last 10
    tickets finished today (5 until there are any); null when no active desk serves it.
    Patient names are shown to clinic staff only.
    """

    allowed_roles = ALL_STAFF
    manager_access = True
    partner_access = "read"
    permission_classes = [ClinicAccess]

    class QuerySerializer(serializers.Serializer):
        service = IdField(required=False, help_text="Only this service's queue.")

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Queue"

        class ServiceQueueSerializer(serializers.Serializer):
            class Meta:
                ref_name = "ServiceQueue"

            service = TicketOutputSerializer.ServiceSerializer()
            active_desks = serializers.IntegerField()
            mean_service_minutes = serializers.FloatField()
            waiting_count = serializers.IntegerField()
            tickets = TicketOutputSerializer(many=True)

        service_day = serializers.DateField()
        services = ServiceQueueSerializer(many=True)

    @extend_schema(
        operation_id="queue_retrieve",
        parameters=[QuerySerializer],
        responses={200: OutputSerializer},
        examples=examples.QUEUE,
    )
    def get(self, request):
        query = query_params_validate(request=request, serializer_class=self.QuerySerializer)
        queues = queue_today(service_id=query.get("service"))
        data = {
            "service_day": service_day_today(),
            "services": [
                {
                    **queue,
                    "tickets": [
                        ticket_data(
                            ticket,
                            request=request,
                            position=ticket.position,
                            estimate=ticket.estimated_wait_minutes,
                        )
                        for ticket in queue["tickets"]
                    ],
                }
                for queue in queues
            ],
        }
        return Response(self.OutputSerializer(data).data)


urlpatterns = [path("queue/", QueueApi.as_view(), name="queue")]
