"""The waiting-room panel (TV): who is called to which desk. Codes and desk names only."""

import secrets

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ALL_STAFF, ClinicAccess
from common.api import query_params_validate
from queueing.selectors.queue import PANEL_RECENT_CALLS, panel_state

PANEL_KEY_HEADER = "X-Panel-Key"


class PanelKeyOrStaff(BasePermission):
    """The clinic's panel key (`?key=` or the X-Panel-Key header), or a staff login."""

    def has_permission(self, request, view) -> bool:
        clinic = getattr(request, "tenant", None)
        key = request.query_params.get("key") or request.headers.get(PANEL_KEY_HEADER)
        if clinic is not None and key:
            if secrets.compare_digest(key.encode(), (clinic.panel_key or "").encode()):
                return True
            raise PermissionDenied(
                detail="This panel key is not valid for this clinic; copy the current key from "
                "the clinic's settings.",
                code="invalid_panel_key",
            )
        return ClinicAccess().has_permission(request, view)


class PanelApi(APIView):
    """Each active desk's current ticket and today's latest calls, newest first.

    For the waiting-room TV: open it with the clinic's panel key instead of a staff login.
    Nothing identifies a patient: ticket codes and desk names only. `event_id` grows with each
    call, so the display can chime when a new one appears.
    """

    allowed_roles = ALL_STAFF
    manager_access = True
    partner_access = None
    permission_classes = [PanelKeyOrStaff]

    class QuerySerializer(serializers.Serializer):
        key = serializers.CharField(
            required=False, allow_blank=True, help_text="The clinic's panel key."
        )
        limit = serializers.IntegerField(
            required=False,
            min_value=1,
            max_value=50,
            default=PANEL_RECENT_CALLS,
            help_text=f"Latest calls to show (1–50, default {PANEL_RECENT_CALLS}).",
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Panel"

        class DeskSerializer(serializers.Serializer):
            class Meta:
                ref_name = "PanelDesk"

            class HeldTicketSerializer(serializers.Serializer):
                class Meta:
                    ref_name = "PanelTicket"

                display_code = serializers.CharField()
                status = serializers.CharField()
                service = serializers.CharField(source="service.name")
                called_at = serializers.DateTimeField()
                recall_count = serializers.IntegerField()

            desk_id = serializers.IntegerField()
            desk = serializers.CharField()
            ticket = HeldTicketSerializer(allow_null=True)

        class CallSerializer(serializers.Serializer):
            class Meta:
                ref_name = "PanelCall"

            event_id = serializers.IntegerField()
            display_code = serializers.CharField()
            desk = serializers.CharField()
            called_at = serializers.DateTimeField()
            recall = serializers.BooleanField()

        service_day = serializers.DateField()
        desks = DeskSerializer(many=True)
        recent_calls = CallSerializer(many=True)

    @extend_schema(
        operation_id="panel_retrieve",
        auth=[],
        parameters=[
            QuerySerializer,
            OpenApiParameter(
                PANEL_KEY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The clinic's panel key (instead of ?key=).",
            ),
        ],
        responses={200: OutputSerializer},
        examples=[
            OpenApiExample(
                "two desks",
                value={
                    "service_day": "2026-03-02",
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
        ],
    )
    def get(self, request):
        query = query_params_validate(request=request, serializer_class=self.QuerySerializer)
        answer = Response(self.OutputSerializer(panel_state(recent=query["limit"])).data)
        answer["Cache-Control"] = "no-store"
        return answer


urlpatterns = [path("panel/", PanelApi.as_view(), name="panel")]
