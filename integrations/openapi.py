"""The webhook payloads in the OpenAPI document (3.1 `webhooks`, drf-spectacular)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers

from integrations.kinds import CHECKIN_KINDS, DAY_CLOSED, TICKET_KINDS

_HEADERS = (
    "Each request is a POST of one event as JSON, with headers `Clinico-Event-Id` (the `id` "
    "below: deduplicate on it, deliveries are at least once), `Clinico-Event-Type` and "
    '`Clinico-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the '
    "subscription's secret>` (two `v1` during a secret rotation's overlap). Refuse a `t` more "
    "than 300 s from your clock. Answer 2xx within 10 s; anything else is retried with "
    "exponential backoff for 26 h, then the subscription is disabled. Events of one ticket "
    "arrive in order: the next is sent only once the previous one was accepted."
)


class PatientSerializer(serializers.Serializer):
    class Meta:
        ref_name = "WebhookPatient"

    cpf = serializers.CharField(help_text="11 digits.")
    full_name = serializers.CharField()


class EventDataSerializer(serializers.Serializer):
    class Meta:
        ref_name = "WebhookEventData"

    ticket_id = serializers.IntegerField(allow_null=True)
    service_id = serializers.IntegerField(allow_null=True)
    desk_id = serializers.IntegerField(allow_null=True)
    patient = PatientSerializer(
        required=False,
        help_text="Only for subscriptions with `personal_data` (the clinic's own systems).",
    )


def _event_serializer(name: str, kinds: list[str], description: str):
    class EventSerializer(serializers.Serializer):
        class Meta:
            ref_name = name

        id = serializers.CharField(
            help_text="`<clinic>.<sequence>`: unique across clinics; deduplicate on it."
        )
        type = serializers.ChoiceField(choices=kinds)
        occurred_at = serializers.DateTimeField()
        clinic = serializers.CharField(help_text="The clinic's slug (its host's first label).")
        sequence = serializers.IntegerField(help_text="Increasing within the clinic.")
        data = EventDataSerializer(  # type: ignore[assignment]  # a field named data
            help_text=description + " Other keys may appear; never a CPF or a name unless the "
            "subscription has `personal_data`."
        )

    EventSerializer.__name__ = name
    return EventSerializer


CheckInEvent = _event_serializer(
    "WebhookCheckInEvent", CHECKIN_KINDS, "A check-in was queued (ticket_id set) or failed."
)
TicketEvent = _event_serializer(
    "WebhookTicketEvent", TICKET_KINDS, "A ticket changed: called to a desk, started, …"
)
AppointmentEvent = _event_serializer(
    "WebhookAppointmentEvent",
    ["appointment.created", "appointment.cancelled", "appointment.arrived", "appointment.no_show"],
    "An appointment was booked, cancelled, arrived or missed (subscribe with `appointment.*`).",
)
DayClosedEvent = _event_serializer(
    "WebhookDayClosedEvent", [DAY_CLOSED], "The clinic's daily reset closed a service day."
)

_EXAMPLE = {
    "id": "centro.1042",
    "type": "ticket.called",
    "occurred_at": "2026-11-29T12:03:07.412000+00:00",
    "clinic": "centro",
    "sequence": 1042,
    "data": {"ticket_id": 311, "service_id": 1, "desk_id": 2},
}


def _webhook(kind: str, serializer) -> OpenApiWebhook:
    return OpenApiWebhook(
        name=kind,
        decorator=extend_schema(
            summary=f"{kind} event",
            description=_HEADERS,
            tags=["webhooks"],
            request=serializer,
            responses={200: OpenApiResponse(description="Accepted (any 2xx).")},
            examples=[OpenApiExample(kind, value=_EXAMPLE | {"type": kind})],
        ),
    )


WEBHOOKS = [
    *(_webhook(kind, CheckInEvent) for kind in CHECKIN_KINDS),
    *(_webhook(kind, TicketEvent) for kind in TICKET_KINDS),
    _webhook("appointment.*", AppointmentEvent),
    _webhook(DAY_CLOSED, DayClosedEvent),
]
