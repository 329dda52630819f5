"""How tickets and refused ticket actions read in queueing's API, shared by its views."""

from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.models import User
from accounts.permissions import clinic_role_of
from queueing.models import Ticket
from queueing.selectors.queue import ticket_position_and_estimate
from queueing.services.workflow import TicketActionRefused

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
    errors = ErrorSerializer(many=True)  # type: ignore[assignment]  # a field, not .errors
    current_status = serializers.CharField(allow_null=True)
    ticket = TicketRefSerializer(allow_null=True)


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
        allow_null=True,
        help_text="0 super-priority (80+), 1 priority, 2 blood donor, 3 normal; null for "
        "principals outside the clinic's staff (the tier tells a patient's age).",
    )
    priority_reason = serializers.CharField(
        allow_null=True,
        help_text="Why the ticket is a priority (pregnant, disability, …: health data); null "
        "for principals outside the clinic's staff.",
    )
    position = serializers.IntegerField(allow_null=True, help_text="1 = next; null if not waiting.")
    estimated_wait_minutes = serializers.IntegerField(allow_null=True)
    arrived_at = serializers.DateTimeField()
    rank_at = serializers.DateTimeField(
        help_text="Its place in the call order after the tier: the arrival, or a booked "
        "appointment's time (docs/queue.md)."
    )
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


def relations_loaded(ticket: Ticket) -> bool:
    """Whether the ticket's relations the answer shows are loaded already."""
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
        # The tier tells a patient's age and the reason a health condition: clinic staff only.
        "priority_tier": ticket.priority_tier if staff else None,
        "priority_reason": ticket.priority_reason if staff else None,
        "position": position,
        "estimated_wait_minutes": estimate,
        "arrived_at": ticket.arrived_at,
        "rank_at": ticket.rank_at,
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
