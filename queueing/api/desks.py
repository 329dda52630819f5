"""A desk calls the next ticket of its services."""

from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CALLING, ClinicAccess, actor_fields
from queueing.api import examples
from queueing.api.serializers import (
    EMPTY_QUEUE_DETAIL,
    TICKET_OUTPUT,
    ConflictSerializer,
    TicketOutputSerializer,
    conflict_response,
    ticket_data,
)
from queueing.models import Desk
from queueing.services.workflow import TicketActionRefused, ticket_call_next


class DeskCallNextApi(APIView):
    """Give the desk the next waiting ticket of its services (priority tier, then arrival).

    A desk holds one ticket at a time: while its last ticket is still called or in service,
    calling next answers 409 `desk_busy` (finish it, mark the no-show or return it first).
    An empty queue answers 200 with `ticket: null` and a message.
    """

    allowed_roles = CALLING
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CallNextResult"

        ticket = TicketOutputSerializer(allow_null=True)
        detail = serializers.CharField(allow_null=True)

    @extend_schema(
        operation_id="desks_call_next",
        request=None,
        responses={
            200: OutputSerializer,
            409: OpenApiResponse(ConflictSerializer, "The desk is inactive or still busy."),
        },
        examples=examples.CALL_NEXT,
    )
    def post(self, request, desk_id: int):
        try:
            ticket = ticket_call_next(desk_id=desk_id, **actor_fields(request))
        except Desk.DoesNotExist:
            raise Http404 from None
        except TicketActionRefused as error:
            return conflict_response(error)
        if ticket is None:
            return Response({"ticket": None, "detail": EMPTY_QUEUE_DETAIL})
        # Only clinic staff reach this POST (CALLING roles): they see the patient's name.
        data = ticket_data(ticket, request=request, staff=True)
        return Response({"ticket": TICKET_OUTPUT.to_representation(data), "detail": None})


urlpatterns = [
    path("desks/<int:desk_id>/call-next/", DeskCallNextApi.as_view(), name="desks-call-next"),
]
