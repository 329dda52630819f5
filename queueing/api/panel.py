"""The waiting-room panel (TV): who is called to which desk. Codes and desk names only."""

import secrets

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ALL_STAFF, ClinicAccess
from queueing.api import examples
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
            OpenApiParameter("key", OpenApiTypes.STR, description="The clinic's panel key."),
            OpenApiParameter(
                PANEL_KEY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The clinic's panel key (instead of ?key=).",
            ),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description="Latest calls to show (1–50, default 10)."
            ),
        ],
        responses={200: OutputSerializer},
        examples=examples.PANEL,
    )
    def get(self, request):
        limit = request.query_params.get("limit", str(PANEL_RECENT_CALLS))
        if not limit.isdigit() or not 1 <= int(limit) <= 50:
            raise serializers.ValidationError({"limit": "Give a number from 1 to 50."})
        answer = Response(self.OutputSerializer(panel_state(recent=int(limit))).data)
        answer["Cache-Control"] = "no-store"
        return answer


urlpatterns = [path("panel/", PanelApi.as_view(), name="panel")]
