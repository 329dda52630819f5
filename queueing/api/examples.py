"""Examples of queueing's API in the OpenAPI document, one list per operation.

Kept beside the serializers they illustrate rather than inside the views, so a view reads as
what it does. Values are realistic but invented: no real patient or CPF.
"""

from drf_spectacular.utils import OpenApiExample

from queueing.api.serializers import EMPTY_QUEUE_DETAIL

# --- tickets -------------------------------------------------------------------------------------

TICKET = {
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
    "rank_at": "2026-03-02T11:58:00Z",
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

CONFLICT = OpenApiExample(
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

TICKET_ACTION = [OpenApiExample("ticket", value=TICKET, response_only=True), CONFLICT]

TICKET_CANCEL = [
    *TICKET_ACTION,
    OpenApiExample("patient left", value={"reason": "Patient left"}, request_only=True),
]

TICKET_TRANSFER = [
    OpenApiExample("to triage", value={"service": 2}, request_only=True),
    OpenApiExample(
        "new ticket",
        value={
            **TICKET,
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
    CONFLICT,
]

TICKET_DETAIL = [
    OpenApiExample(
        "called ticket",
        value={
            **TICKET,
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
]

# --- desks ---------------------------------------------------------------------------------------

CALL_NEXT = [
    OpenApiExample("called", value={"ticket": TICKET, "detail": None}, response_only=True),
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
]

# --- the queue and its figures -------------------------------------------------------------------

QUEUE = [
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
                        TICKET,
                        {
                            **TICKET,
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
]

STATS_TODAY = [
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
            "desks": [{"desk_id": 1, "desk": "Guichê 1", "on_break": "", "break_s": 1800.0}],
        },
        response_only=True,
    )
]

# --- check-ins -----------------------------------------------------------------------------------

CHECKIN_CREATE = [
    OpenApiExample(
        "known patient",
        value={"cpf": "529.982.247-25"},
        request_only=True,
    ),
    OpenApiExample(
        "new patient, declared priority",
        value={
            "cpf": "52998224725",
            "patient": {"full_name": "Maria da Silva", "birth_date": "1990-03-14"},
            "priority_reason": "pregnant",
        },
        request_only=True,
    ),
    OpenApiExample(
        "accepted",
        value={
            "id": "1b0f3c8e-8d1e-4c41-9d0a-5c1f3e1b2a77",
            "status": "pending",
            "status_url": "https://centro.clinico.example/api/v1/check-ins/"
            "1b0f3c8e-8d1e-4c41-9d0a-5c1f3e1b2a77/",
            "created_at": "2026-03-02T12:00:00Z",
        },
        response_only=True,
        status_codes=["202"],
    ),
]

CHECKIN_DETAIL = [
    OpenApiExample(
        "queued",
        value={
            "id": "1b0f3c8e-8d1e-4c41-9d0a-5c1f3e1b2a77",
            "status": "queued",
            "cpf": "***.982.247-**",
            "created_at": "2026-03-02T12:00:00Z",
            "processed_at": "2026-03-02T12:00:00.040Z",
            "failure_reason": "",
            "ticket": {
                "id": 7,
                "display_code": "R007",
                "status": "waiting",
                "priority_tier": 3,
                "priority_reason": "",
                "service": {"id": 1, "name": "Recepção", "prefix": "R"},
                "position": 3,
                "estimated_wait_minutes": 15,
            },
        },
        response_only=True,
    ),
    OpenApiExample(
        "pending",
        value={
            "id": "1b0f3c8e-8d1e-4c41-9d0a-5c1f3e1b2a77",
            "status": "pending",
            "cpf": "***.982.247-**",
            "created_at": "2026-03-02T12:00:00Z",
            "processed_at": None,
            "failure_reason": "",
            "ticket": None,
        },
        response_only=True,
    ),
]

# --- services and desks --------------------------------------------------------------------------

SERVICE = {
    "id": 2,
    "name": "Triagem",
    "prefix": "T",
    "is_active": True,
    "is_default": False,
    "target_wait_minutes": 20,
    "priority_policy": "interleave",
    "interleave_after": 3,
    "appointment_early_minutes": 30,
    "appointment_late_minutes": 15,
    "display_order": 2,
}

SERVICE_CREATE = [
    OpenApiExample(
        "triage, interleaved",
        value={
            "name": "Triagem",
            "prefix": "T",
            "target_wait_minutes": 20,
            "priority_policy": "interleave",
            "interleave_after": 3,
        },
        request_only=True,
    ),
    OpenApiExample("created", value=SERVICE, response_only=True),
]

SERVICE_UPDATE = [
    OpenApiExample("longer target", value={"target_wait_minutes": 40}, request_only=True),
    OpenApiExample("updated", value=SERVICE, response_only=True),
]

DESK = {"id": 1, "name": "Guichê 1", "is_active": True, "services": [1]}

DESK_CREATE = [
    OpenApiExample("desk", value={"name": "Guichê 1", "services": [1]}, request_only=True),
    OpenApiExample("created", value=DESK, response_only=True),
]

DESK_UPDATE = [
    OpenApiExample("serve two services", value={"services": [1, 2]}, request_only=True),
    OpenApiExample("updated", value=DESK, response_only=True),
]

# --- the waiting-room panel ----------------------------------------------------------------------

PANEL = [
    OpenApiExample(
        "two desks",
        value={
            "service_day": "2026-03-02",
            "panel": {"id": 1, "name": "Térreo", "voice_enabled": True, "voice_rate": 1.0},
            "desks": [
                {
                    "desk_id": 1,
                    "desk": "Guichê 1",
                    "ticket": {
                        "display_code": "R012",
                        "status": "called",
                        "service": "Recepção",
                        "called_at": "2026-03-02T12:10:00Z",
                        "recall_count": 1,
                    },
                },
                {"desk_id": 2, "desk": "Guichê 2", "ticket": None},
            ],
            "recent_calls": [
                {
                    "event_id": 57,
                    "display_code": "R012",
                    "desk": "Guichê 1",
                    "called_at": "2026-03-02T12:11:30Z",
                    "recall": True,
                }
            ],
        },
        response_only=True,
    )
]
