"""The queue at work on a clinic host: call next, ticket actions, the queue, a ticket, figures."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import (
    ALL_STAFF,
    CALLING,
    RECEPTION,
    ClinicAccess,
    actor_fields,
    clinic_role_of,
)
from common.api import IdField, query_params_validate
from patients.api import django_validation_to_api
from queueing.clock import service_day_today
from queueing.models import Desk, Ticket
from queueing.selectors.queue import (
    day_figures,
    queue_today,
    ticket_get,
    ticket_position_and_estimate,
    ticket_transferred_to,
)
from queueing.services.workflow import (
    TicketActionRefused,
    ticket_call_next,
    ticket_cancel,
    ticket_finish,
    ticket_no_show,
    ticket_recall,
    ticket_requeue,
    ticket_start,
    ticket_transfer,
)

EMPTY_QUEUE_DETAIL = "No one is waiting for this desk's services."


def shows_patients(request) -> bool:
    """Clinic staff see patients' names; chain managers and partners see codes and positions."""
    user = request.user
    if not isinstance(user, User) or getattr(request, "tenant", None) is None:
        return False
    return clinic_role_of(user=user, clinic=request.tenant) is not None


def conflict_response(error: TicketActionRefused) -> Response:
    """409 in the API's error format, with the ticket's current status beside it."""
    body = {
        "type": "client_error",
        "errors": [{"code": error.code, "detail": error.detail, "attr": None}],
        "current_status": error.current_status,
        "ticket": (
            {"id": error.ticket.pk, "display_code": error.ticket.display_code}
            if error.ticket is not None
            else None
        ),
    }
    return Response(body, status=status.HTTP_409_CONFLICT)


class TicketRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_code = serializers.CharField()


class ConflictSerializer(serializers.Serializer):
    class Meta:
        ref_name = "TicketConflict"

    class ErrorSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TicketConflictError"

        code = serializers.CharField()
        detail = serializers.CharField()
        attr = serializers.CharField(allow_null=True)

    type = serializers.CharField()
    errors = ErrorSerializer(many=True)
    current_status = serializers.CharField(allow_null=True)
    ticket = TicketRefSerializer(allow_null=True)


CONFLICT_EXAMPLE = OpenApiExample(
    "invalid transition",
    value={
        "type": "client_error",
        "errors": [
            {
                "code": "invalid_transition",
                "detail": "Ticket R003 is waiting; it cannot be finished.",
                "attr": None,
            }
        ],
        "current_status": "waiting",
        "ticket": {"id": 3, "display_code": "R003"},
    },
    response_only=True,
    status_codes=["409"],
)


class TicketOutputSerializer(serializers.Serializer):
    """A ticket as staff see it; `patient` is null for chain managers and partners."""

    class ServiceSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TicketService"

        id = serializers.IntegerField()
        name = serializers.CharField()
        prefix = serializers.CharField()

    class DeskSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TicketDesk"

        id = serializers.IntegerField()
        name = serializers.CharField()

    class PatientSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TicketPatient"

        id = serializers.IntegerField()
        display_name = serializers.CharField()

    id = serializers.IntegerField()
    display_code = serializers.CharField()
    status = serializers.CharField()
    service = ServiceSerializer()
    service_day = serializers.DateField()
    priority_tier = serializers.IntegerField(
        help_text="0 super-priority (80+), 1 priority, 2 blood donor, 3 normal."
    )
    priority_reason = serializers.CharField()
    position = serializers.IntegerField(allow_null=True, help_text="1 = next; null if not waiting.")
    estimated_wait_minutes = serializers.IntegerField(allow_null=True)
    arrived_at = serializers.DateTimeField()
    issued_at = serializers.DateTimeField()
    called_at = serializers.DateTimeField(allow_null=True, help_text="First call.")
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    desk = DeskSerializer(allow_null=True)
    recall_count = serializers.IntegerField()
    cancel_reason = serializers.CharField()
    transferred_from = TicketRefSerializer(allow_null=True)
    patient = PatientSerializer(allow_null=True)


# Answers of the hot paths (call next, ticket actions) reuse one bound serializer: building a
# serializer deep-copies its fields, which costs more than the representation itself.
TICKET_OUTPUT = TicketOutputSerializer()
TICKET_RELATIONS = ("service", "desk", "patient", "transferred_from")


def _relations_loaded(ticket: Ticket) -> bool:
    cached = ticket._state.fields_cache
    return all(name in cached for name in TICKET_RELATIONS)


def ticket_data(
    ticket, *, request, position=None, estimate=None, compute_position=False, staff=None
) -> dict:
    """The ticket's API fields; `staff` (whether names show) is looked up when not given."""
    if staff is None:
        staff = shows_patients(request)
    if compute_position:
        position, estimate = ticket_position_and_estimate(ticket=ticket)
    return {
        "id": ticket.pk,
        "display_code": ticket.display_code,
        "status": ticket.status,
        "service": ticket.service,
        "service_day": ticket.service_day,
        "priority_tier": ticket.priority_tier,
        "priority_reason": ticket.priority_reason,
        "position": position,
        "estimated_wait_minutes": estimate,
        "arrived_at": ticket.arrived_at,
        "issued_at": ticket.issued_at,
        "called_at": ticket.called_at,
        "started_at": ticket.started_at,
        "finished_at": ticket.finished_at,
        "desk": ticket.desk,
        "recall_count": ticket.recall_count,
        "cancel_reason": ticket.cancel_reason,
        "transferred_from": ticket.transferred_from,
        "patient": ticket.patient if staff else None,
    }


TICKET_EXAMPLE = {
    "id": 12,
    "display_code": "R012",
    "status": "called",
    "service": {"id": 1, "name": "Recepção", "prefix": "R"},
    "service_day": "2026-03-02",
    "priority_tier": 1,
    "priority_reason": "age_60",
    "position": None,
    "estimated_wait_minutes": None,
    "arrived_at": "2026-03-02T11:58:00Z",
    "issued_at": "2026-03-02T11:58:00.04Z",
    "called_at": "2026-03-02T12:10:00Z",
    "started_at": None,
    "finished_at": None,
    "desk": {"id": 1, "name": "Guichê 1"},
    "recall_count": 0,
    "cancel_reason": "",
    "transferred_from": None,
    "patient": {"id": 40, "display_name": "Maria da Silva"},
}


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
        examples=[
            OpenApiExample(
                "called", value={"ticket": TICKET_EXAMPLE, "detail": None}, response_only=True
            ),
            OpenApiExample(
                "nobody waiting",
                value={"ticket": None, "detail": EMPTY_QUEUE_DETAIL},
                response_only=True,
            ),
            OpenApiExample(
                "desk busy",
                value={
                    "type": "client_error",
                    "errors": [
                        {
                            "code": "desk_busy",
                            "detail": "Desk Guichê 1 still holds ticket R011 (called); finish "
                            "it, mark it as a no-show or return it to the queue before calling "
                            "the next one.",
                            "attr": None,
                        }
                    ],
                    "current_status": "called",
                    "ticket": {"id": 11, "display_code": "R011"},
                },
                response_only=True,
                status_codes=["409"],
            ),
        ],
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


class _TicketActionApi(APIView):
    """One action on one ticket; the subclass names the service function and roles."""

    allowed_roles = CALLING
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]
    success_status = status.HTTP_200_OK

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
        if not _relations_loaded(ticket):
            ticket = Ticket.objects.select_related(*TICKET_RELATIONS).get(pk=ticket.pk)
        # Ticket actions are for clinic staff only (no manager or partner access).
        data = ticket_data(ticket, request=request, compute_position=True, staff=True)
        return Response(TICKET_OUTPUT.to_representation(data), status=self.success_status)


def _action_schema(operation_id: str, *, request=None, extra_examples=()):
    return extend_schema(
        operation_id=operation_id,
        request=request,
        responses={
            200: TicketOutputSerializer,
            409: OpenApiResponse(ConflictSerializer, "Not allowed from the current status."),
        },
        examples=[
            OpenApiExample("ticket", value=TICKET_EXAMPLE, response_only=True),
            CONFLICT_EXAMPLE,
            *extra_examples,
        ],
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
            error_messages={"blank": "Say why the ticket is cancelled."},
            help_text="Why, in a few words (kept on the ticket).",
        )

    @_action_schema(
        "tickets_cancel",
        request=InputSerializer,
        extra_examples=[
            OpenApiExample("patient left", value={"reason": "Patient left"}, request_only=True)
        ],
    )
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


class TicketTransferApi(_TicketActionApi):
    """Close the ticket as transferred and open one in another service (201, the new ticket).

    The new ticket keeps the original arrival time, so it takes its place in the target queue
    by arrival, and links back through `transferred_from`.
    """

    success_status = status.HTTP_201_CREATED

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TicketTransfer"

        service = serializers.IntegerField(help_text="Id of the target service.")

    @extend_schema(
        operation_id="tickets_transfer",
        request=InputSerializer,
        responses={
            201: TicketOutputSerializer,
            409: OpenApiResponse(ConflictSerializer, "Not allowed from the current status."),
        },
        examples=[
            OpenApiExample("to triage", value={"service": 2}, request_only=True),
            OpenApiExample(
                "new ticket",
                value={
                    **TICKET_EXAMPLE,
                    "id": 31,
                    "display_code": "T004",
                    "status": "waiting",
                    "service": {"id": 2, "name": "Triagem", "prefix": "T"},
                    "position": 2,
                    "estimated_wait_minutes": 10,
                    "called_at": None,
                    "desk": None,
                    "transferred_from": {"id": 12, "display_code": "R012"},
                },
                response_only=True,
                status_codes=["201"],
            ),
            CONFLICT_EXAMPLE,
        ],
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
        examples=[
            OpenApiExample(
                "called ticket",
                value={
                    **TICKET_EXAMPLE,
                    "transferred_to": None,
                    "events": [
                        {
                            "id": 40,
                            "kind": "issued",
                            "at": "2026-03-02T11:58:00.04Z",
                            "from_status": "",
                            "to_status": "waiting",
                            "desk": None,
                            "actor": "recepcao@centro.demo",
                            "partner_client_id": "",
                            "detail": {},
                        },
                        {
                            "id": 52,
                            "kind": "called",
                            "at": "2026-03-02T12:10:00Z",
                            "from_status": "waiting",
                            "to_status": "called",
                            "desk": "Guichê 1",
                            "actor": "recepcao@centro.demo",
                            "partner_client_id": "",
                            "detail": {},
                        },
                    ],
                },
                response_only=True,
            )
        ],
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
        examples=[
            OpenApiExample(
                "one service",
                value={
                    "service_day": "2026-03-02",
                    "services": [
                        {
                            "service": {"id": 1, "name": "Recepção", "prefix": "R"},
                            "active_desks": 2,
                            "mean_service_minutes": 4.5,
                            "waiting_count": 1,
                            "tickets": [
                                TICKET_EXAMPLE,
                                {
                                    **TICKET_EXAMPLE,
                                    "id": 13,
                                    "display_code": "R013",
                                    "status": "waiting",
                                    "priority_tier": 3,
                                    "priority_reason": "",
                                    "position": 1,
                                    "estimated_wait_minutes": 5,
                                    "called_at": None,
                                    "desk": None,
                                },
                            ],
                        }
                    ],
                },
                response_only=True,
            )
        ],
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


class StatsTodayApi(APIView):
    """Today's figures per service (the clinic's local day so far).

    Wait is issued → first call; service time is started → finished of served (done) tickets;
    both in seconds. p90 is PostgreSQL's percentile_cont(0.9) (linear interpolation).
    within_target_share is the share of called tickets whose wait was within the service's
    target wait (0–1; null when nobody was called yet).
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

        service_day = serializers.DateField()
        services = ServiceFiguresSerializer(many=True)

    @extend_schema(
        operation_id="stats_today",
        responses={200: OutputSerializer},
        examples=[
            OpenApiExample(
                "reception",
                value={
                    "service_day": "2026-03-02",
                    "services": [
                        {
                            "service_id": 1,
                            "service": "Recepção",
                            "prefix": "R",
                            "target_wait_minutes": 15,
                            "tickets": 42,
                            "waiting": 5,
                            "called_now": 1,
                            "in_service": 1,
                            "served": 31,
                            "no_shows": 2,
                            "cancelled": 1,
                            "transferred": 1,
                            "expired": 0,
                            "called": 36,
                            "wait_avg_s": 412.5,
                            "wait_p90_s": 890.0,
                            "service_avg_s": 240.3,
                            "within_target_share": 0.9167,
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        today = service_day_today()
        data = {"service_day": today, "services": day_figures(service_day=today)}
        return Response(self.OutputSerializer(data).data)


urlpatterns = [
    path("desks/<int:desk_id>/call-next/", DeskCallNextApi.as_view(), name="desks-call-next"),
    path("queue/", QueueApi.as_view(), name="queue"),
    path("stats/today/", StatsTodayApi.as_view(), name="stats-today"),
    path("tickets/<int:ticket_id>/", TicketDetailApi.as_view(), name="tickets-detail"),
    path("tickets/<int:ticket_id>/recall/", TicketRecallApi.as_view(), name="tickets-recall"),
    path("tickets/<int:ticket_id>/start/", TicketStartApi.as_view(), name="tickets-start"),
    path("tickets/<int:ticket_id>/finish/", TicketFinishApi.as_view(), name="tickets-finish"),
    path("tickets/<int:ticket_id>/no-show/", TicketNoShowApi.as_view(), name="tickets-no-show"),
    path("tickets/<int:ticket_id>/cancel/", TicketCancelApi.as_view(), name="tickets-cancel"),
    path("tickets/<int:ticket_id>/requeue/", TicketRequeueApi.as_view(), name="tickets-requeue"),
    path("tickets/<int:ticket_id>/transfer/", TicketTransferApi.as_view(), name="tickets-transfer"),
]
