"""A desk calls the next ticket of its services, and closes for a break and opens again."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CALLING, ClinicAccess, actor_fields
from common.api import IdField, django_validation_to_api
from queueing.api import examples
from queueing.api.serializers import (
    EMPTY_QUEUE_DETAIL,
    TICKET_OUTPUT,
    ConflictSerializer,
    TicketOutputSerializer,
    conflict_response,
    ticket_data,
)
from queueing.api.setup import DeskOutputSerializer
from queueing.models import BreakReason, Desk, Ticket
from queueing.selectors.queue import desk_list
from queueing.services.desk_breaks import desk_break_end, desk_break_start
from queueing.services.workflow import (
    REASON_MAX_LENGTH,
    TicketActionRefused,
    ticket_call_chosen,
    ticket_call_next,
)


class DeskCallNextApi(APIView):
    """Give the desk the next waiting ticket of its services (priority tier, then arrival).

    A desk holds one ticket at a time: while its last ticket is still called or in service,
    calling next answers 409 `desk_busy` (finish it, mark the no-show or return it first).
    A desk on a break answers 409 `desk_on_break` naming the reason; an inactive one
    `desk_inactive`. An empty queue answers 200 with `ticket: null` and a message.
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
            409: OpenApiResponse(
                ConflictSerializer, "The desk is inactive, on a break or still busy."
            ),
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


class DeskCallChosenApi(APIView):
    """Call a chosen waiting ticket out of order, with the reason (kept on the ticket's history).

    A call like call-next's: the panel shows it and `ticket.called` goes out with
    `out_of_order: true` (the reason stays on the ticket's events, for staff). The desk must be
    active, open, free and serve the ticket's service: else 409 `desk_inactive`,
    `desk_on_break`, `desk_busy` or `service_not_served`; a ticket no longer waiting (another
    desk called it first) answers 409 `invalid_transition`.
    """

    allowed_roles = CALLING
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DeskCallChosen"

        ticket = IdField(help_text="Id of the waiting ticket to call.")
        reason = serializers.CharField(
            max_length=REASON_MAX_LENGTH,
            help_text="Why this ticket goes first, in a few words (kept on its history).",
        )

    @extend_schema(
        operation_id="desks_call_chosen",
        request=InputSerializer,
        responses={
            200: TicketOutputSerializer,
            409: OpenApiResponse(
                ConflictSerializer,
                "The desk cannot call it (inactive, on a break, busy, another service) or the "
                "ticket is no longer waiting.",
            ),
        },
    )
    def post(self, request, desk_id: int):
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            ticket = ticket_call_chosen(
                desk_id=desk_id,
                ticket_id=given.validated_data["ticket"],
                reason=given.validated_data["reason"],
                **actor_fields(request),
            )
        except (Desk.DoesNotExist, Ticket.DoesNotExist):
            raise Http404 from None
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        except TicketActionRefused as error:
            return conflict_response(error)
        data = ticket_data(ticket, request=request, staff=True)
        return Response(TICKET_OUTPUT.to_representation(data))


class _DeskBreakApi(APIView):
    allowed_roles = CALLING
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]

    def _answer(self, write, **kwargs) -> Response:
        try:
            desk = write(**kwargs, actor=actor_fields(self.request)["actor"])
        except Desk.DoesNotExist:
            raise Http404 from None
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        except TicketActionRefused as error:
            return conflict_response(error)
        return Response(DeskOutputSerializer(desk_list().get(pk=desk.pk)).data)


class DeskBreakStartApi(_DeskBreakApi):
    """Close the desk for a break (lunch, break, meeting, other).

    While on break the desk cannot call (409 `desk_on_break`), is left out of the wait estimate
    and shows as closed on the panel. Refused with 409 `desk_busy` while the desk holds a
    ticket, and `desk_on_break` when it is on a break already.
    """

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DeskBreakStart"

        reason = serializers.ChoiceField(choices=BreakReason.choices)

    @extend_schema(
        operation_id="desks_break_start",
        request=InputSerializer,
        responses={
            200: DeskOutputSerializer,
            409: OpenApiResponse(ConflictSerializer, "On a break already, or holds a ticket."),
        },
    )
    def post(self, request, desk_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(desk_break_start, desk_id=desk_id, reason=data.validated_data["reason"])


class DeskBreakEndApi(_DeskBreakApi):
    """Open the desk again after its break: it calls and counts in the estimate again."""

    @extend_schema(
        operation_id="desks_break_end",
        request=None,
        responses={
            200: DeskOutputSerializer,
            409: OpenApiResponse(ConflictSerializer, "The desk is not on a break."),
        },
    )
    def post(self, request, desk_id: int):
        return self._answer(desk_break_end, desk_id=desk_id)


urlpatterns = [
    path("desks/<int:desk_id>/call-next/", DeskCallNextApi.as_view(), name="desks-call-next"),
    path("desks/<int:desk_id>/call/", DeskCallChosenApi.as_view(), name="desks-call-chosen"),
    path("desks/<int:desk_id>/break/", DeskBreakStartApi.as_view(), name="desks-break-start"),
    path("desks/<int:desk_id>/break/end/", DeskBreakEndApi.as_view(), name="desks-break-end"),
]
