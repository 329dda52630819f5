"""A ticket with its history, and what desks do with it: recall, start, finish ... transfer."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ALL_STAFF, CALLING, RECEPTION, ClinicAccess, actor_fields
from common.api import IdField, django_validation_to_api
from queueing.api import examples
from queueing.api.serializers import (
    TICKET_OUTPUT,
    TICKET_RELATIONS,
    ConflictSerializer,
    TicketOutputSerializer,
    TicketRefSerializer,
    conflict_response,
    relations_loaded,
    shows_patients,
    ticket_data,
)
from queueing.models import Ticket
from queueing.selectors.queue import ticket_get, ticket_transferred_to
from queueing.services.workflow import (
    TicketActionRefused,
    ticket_cancel,
    ticket_cancel_undo,
    ticket_finish,
    ticket_no_show,
    ticket_no_show_undo,
    ticket_recall,
    ticket_requeue,
    ticket_start,
    ticket_transfer,
)


class _TicketActionApi(APIView):
    """One action on one ticket; the subclass names the service function and roles."""

    allowed_roles = CALLING
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]
    success_status: int = status.HTTP_200_OK

    def perform(self, request, ticket_id: int):
        raise NotImplementedError

    def post(self, request, ticket_id: int):
        try:
            ticket = self.perform(request, ticket_id)
        except Ticket.DoesNotExist:
            raise Http404 from None
        except TicketActionRefused as error:
            return conflict_response(error)
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        if not relations_loaded(ticket):
            ticket = Ticket.objects.select_related(*TICKET_RELATIONS).get(pk=ticket.pk)
        # Ticket actions are for clinic staff only (no manager or partner access).
        data = ticket_data(ticket, request=request, compute_position=True, staff=True)
        return Response(TICKET_OUTPUT.to_representation(data), status=self.success_status)


def _action_schema(operation_id: str, *, request=None, shown=examples.TICKET_ACTION):
    return extend_schema(
        operation_id=operation_id,
        request=request,
        responses={
            200: TicketOutputSerializer,
            409: OpenApiResponse(ConflictSerializer, "Not allowed from the current status."),
        },
        examples=shown,
    )


class TicketRecallApi(_TicketActionApi):
    """Call a called ticket again (shown again on the panel); recall_count goes up by one."""

    @_action_schema("tickets_recall")
    def post(self, request, ticket_id: int):
        return super().post(request, ticket_id)

    def perform(self, request, ticket_id):
        return ticket_recall(ticket_id=ticket_id, **actor_fields(request))


class TicketStartApi(_TicketActionApi):
    """The called patient is at the desk: service starts (called → in_service)."""

    @_action_schema("tickets_start")
    def post(self, request, ticket_id: int):
        return super().post(request, ticket_id)

    def perform(self, request, ticket_id):
        return ticket_start(ticket_id=ticket_id, **actor_fields(request))


class TicketFinishApi(_TicketActionApi):
    """Service is over (in_service → done); the desk may call the next ticket."""

    @_action_schema("tickets_finish")
    def post(self, request, ticket_id: int):
        return super().post(request, ticket_id)

    def perform(self, request, ticket_id):
        return ticket_finish(ticket_id=ticket_id, **actor_fields(request))


class TicketNoShowApi(_TicketActionApi):
    """The called patient did not come (called → no_show); the desk is free again."""

    @_action_schema("tickets_no_show")
    def post(self, request, ticket_id: int):
        return super().post(request, ticket_id)

    def perform(self, request, ticket_id):
        return ticket_no_show(ticket_id=ticket_id, **actor_fields(request))


class TicketNoShowUndoApi(_TicketActionApi):
    """Undo a no-show (no_show → called, at the same desk, as it was).

    Only within a few seconds of the no-show (409 `undo_expired`), by whoever marked it
    (409 `undo_not_yours`), while the desk is free and open (409 `desk_busy`, `desk_on_break`).
    """

    @_action_schema("tickets_no_show_undo")
    def post(self, request, ticket_id: int):
        return super().post(request, ticket_id)

    def perform(self, request, ticket_id):
        return ticket_no_show_undo(ticket_id=ticket_id, **actor_fields(request))


class TicketRequeueApi(_TicketActionApi):
    """Return a called ticket to the queue (called → waiting); it keeps its place by arrival."""

    @_action_schema("tickets_requeue")
    def post(self, request, ticket_id: int):
        return super().post(request, ticket_id)

    def perform(self, request, ticket_id):
        return ticket_requeue(ticket_id=ticket_id, **actor_fields(request))


class TicketCancelApi(_TicketActionApi):
    """Take a waiting ticket out of the queue, with the reason (waiting → cancelled)."""

    allowed_roles = RECEPTION

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TicketCancel"

        reason = serializers.CharField(
            max_length=200,
            error_messages={"blank": gettext_lazy("Say why the ticket is cancelled.")},
            help_text="Why, in a few words (kept on the ticket).",
        )

    @_action_schema("tickets_cancel", request=InputSerializer, shown=examples.TICKET_CANCEL)
    def post(self, request, ticket_id: int):
        return super().post(request, ticket_id)

    def perform(self, request, ticket_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return ticket_cancel(
            ticket_id=ticket_id,
            reason=serializer.validated_data["reason"],
            **actor_fields(request),
        )


class TicketCancelUndoApi(_TicketActionApi):
    """Undo a cancellation (cancelled → waiting, in its place by arrival).

    Only within a few seconds of the cancellation (409 `undo_expired`), by whoever cancelled it
    (409 `undo_not_yours`).
    """

    allowed_roles = RECEPTION

    @_action_schema("tickets_cancel_undo")
    def post(self, request, ticket_id: int):
        return super().post(request, ticket_id)

    def perform(self, request, ticket_id):
        return ticket_cancel_undo(ticket_id=ticket_id, **actor_fields(request))


class TicketTransferApi(_TicketActionApi):
    """Close the ticket as transferred and open one in another service (201, the new ticket).

    The new ticket keeps the original arrival time, so it takes its place in the target queue
    by arrival, and links back through `transferred_from`.
    """

    success_status = status.HTTP_201_CREATED

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TicketTransfer"

        service = IdField(help_text="Id of the target service.")

    @extend_schema(
        operation_id="tickets_transfer",
        request=InputSerializer,
        responses={
            201: TicketOutputSerializer,
            409: OpenApiResponse(ConflictSerializer, "Not allowed from the current status."),
        },
        examples=examples.TICKET_TRANSFER,
    )
    def post(self, request, ticket_id: int):
        return super().post(request, ticket_id)

    def perform(self, request, ticket_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return ticket_transfer(
            ticket_id=ticket_id,
            service_id=serializer.validated_data["service"],
            **actor_fields(request),
        )


class TicketDetailApi(APIView):
    """One ticket with its history (events, oldest first) and where it was transferred to."""

    allowed_roles = ALL_STAFF
    manager_access = True
    partner_access = "read"
    permission_classes = [ClinicAccess]

    class OutputSerializer(TicketOutputSerializer):
        class Meta:
            ref_name = "TicketDetail"

        class EventSerializer(serializers.Serializer):
            class Meta:
                ref_name = "TicketEvent"

            id = serializers.IntegerField()
            kind = serializers.CharField()
            at = serializers.DateTimeField()
            from_status = serializers.CharField()
            to_status = serializers.CharField()
            desk = serializers.CharField(allow_null=True, help_text="Desk name.")
            actor = serializers.CharField(allow_null=True, help_text="Staff e-mail.")
            partner_client_id = serializers.CharField()
            detail = serializers.DictField()

        transferred_to = TicketRefSerializer(allow_null=True)
        events = EventSerializer(many=True)

    @extend_schema(
        operation_id="tickets_retrieve",
        responses={200: OutputSerializer},
        examples=examples.TICKET_DETAIL,
    )
    def get(self, request, ticket_id: int):
        ticket = ticket_get(ticket_id=ticket_id)
        if ticket is None:
            raise Http404
        staff = shows_patients(request)
        data = ticket_data(ticket, request=request, compute_position=True)
        data["transferred_to"] = ticket_transferred_to(ticket=ticket)
        data["events"] = [
            {
                "id": event.pk,
                "kind": event.kind,
                "at": event.at,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "desk": event.desk.name if event.desk else None,
                "actor": event.actor.email if (event.actor and staff) else None,
                "partner_client_id": event.partner_client_id,
                "detail": event.detail,
            }
            for event in ticket.events.all()
        ]
        return Response(self.OutputSerializer(data).data)


urlpatterns = [
    path("tickets/<int:ticket_id>/", TicketDetailApi.as_view(), name="tickets-detail"),
    path("tickets/<int:ticket_id>/recall/", TicketRecallApi.as_view(), name="tickets-recall"),
    path("tickets/<int:ticket_id>/start/", TicketStartApi.as_view(), name="tickets-start"),
    path("tickets/<int:ticket_id>/finish/", TicketFinishApi.as_view(), name="tickets-finish"),
    path("tickets/<int:ticket_id>/no-show/", TicketNoShowApi.as_view(), name="tickets-no-show"),
    path(
        "tickets/<int:ticket_id>/no-show/undo/",
        TicketNoShowUndoApi.as_view(),
        name="tickets-no-show-undo",
    ),
    path("tickets/<int:ticket_id>/cancel/", TicketCancelApi.as_view(), name="tickets-cancel"),
    path(
        "tickets/<int:ticket_id>/cancel/undo/",
        TicketCancelUndoApi.as_view(),
        name="tickets-cancel-undo",
    ),
    path("tickets/<int:ticket_id>/requeue/", TicketRequeueApi.as_view(), name="tickets-requeue"),
    path("tickets/<int:ticket_id>/transfer/", TicketTransferApi.as_view(), name="tickets-transfer"),
]
