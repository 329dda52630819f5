"""The waiting-room panel (TV): who is called to which desk. Codes and desk names only."""

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ALL_STAFF, ClinicAccess
from common.api import IdField, query_params_validate
from queueing.api import examples
from queueing.panel_access import PANEL_COOKIE, PANEL_KEY_HEADER, panel_for_key, panel_of_cookie
from queueing.selectors.queue import PANEL_RECENT_CALLS, panel_get, panel_state


class PanelKeyOrStaff(BasePermission):
    """The TV's panel cookie, a panel's key in the X-Panel-Key header, or staff.

    The key or cookie names the panel (`request.panel`), whose desks the answer is limited to.
    A key in the query string is refused: it would be written to every access log line.
    """

    def has_permission(self, request, view) -> bool:
        clinic = getattr(request, "tenant", None)
        if "key" in request.query_params:
            raise serializers.ValidationError(
                {
                    "key": "The panel key never goes in a URL: send it in the X-Panel-Key "
                    "header, or open the panel from the link in the console."
                },
                code="key_in_url",
            )
        if clinic is None:
            return False
        request.panel = None
        key = request.headers.get(PANEL_KEY_HEADER)
        if key:
            request.panel = panel_for_key(key=key)
            if request.panel is not None:
                return True
            raise PermissionDenied(
                detail="This panel key is not valid for this clinic; a clinic admin makes a new "
                "link on the panels page.",
                code="invalid_panel_key",
            )
        cookie, request.panel = panel_of_cookie(request=request, clinic=clinic)
        if cookie == "valid":
            return True
        if ClinicAccess().has_permission(request, view):
            return True
        if cookie == "stale":
            raise PermissionDenied(
                detail="This panel's key was changed: open the new panel link from the "
                "panels page on this screen.",
                code="panel_key_changed",
            )
        return False


class PanelApi(APIView):
    """Each active desk's current ticket and today's latest calls, newest first.

    A panel (opened by its key or cookie) sees only its own desks: those it names and those
    serving the services it names. Staff see every desk, or one panel's with `?panel=<id>`.
    For the waiting-room TV, without a staff login: the panel page's cookie (set when the TV
    opens the console's panel link) or the clinic's panel key in the X-Panel-Key header; a
    rotated key refuses both at once (`POST panel/key/rotate/`). Nothing identifies a patient:
    ticket codes and desk names only. `event_id` grows with each call, so the display can chime
    when a new one appears.
    """

    allowed_roles = ALL_STAFF
    manager_access = True
    partner_access = None
    permission_classes = [PanelKeyOrStaff]

    class QuerySerializer(serializers.Serializer):
        limit = serializers.IntegerField(
            required=False,
            min_value=1,
            max_value=50,
            default=PANEL_RECENT_CALLS,
            help_text=f"Latest calls to show (1–50, default {PANEL_RECENT_CALLS}).",
        )
        panel = IdField(
            required=False,
            help_text="Staff only: show what this panel shows. A TV's key or cookie names its "
            "own panel, and this is ignored.",
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
            closed = serializers.BooleanField(help_text="The desk is on a break.")

        class CallSerializer(serializers.Serializer):
            class Meta:
                ref_name = "PanelCall"

            event_id = serializers.IntegerField()
            display_code = serializers.CharField()
            desk = serializers.CharField()
            called_at = serializers.DateTimeField()
            recall = serializers.BooleanField()
            transferred_to = serializers.CharField(
                allow_null=True,
                help_text="The code the called ticket became when transferred since (else null).",
            )

        class PanelInfoSerializer(serializers.Serializer):
            class Meta:
                ref_name = "PanelInfo"

            id = serializers.IntegerField()
            name = serializers.CharField()
            voice_enabled = serializers.BooleanField()
            voice_rate = serializers.FloatField()

        service_day = serializers.DateField()
        panel = PanelInfoSerializer(
            allow_null=True, help_text="The panel shown; null for staff viewing every desk."
        )
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
                description="The clinic's panel key, for displays other than the panel page "
                f"(which holds the `{PANEL_COOKIE}` cookie instead). A `?key=` query parameter "
                "is refused with 400: keys stay out of URLs and logs.",
            ),
        ],
        responses={200: OutputSerializer},
        examples=examples.PANEL,
    )
    def get(self, request):
        query = query_params_validate(request=request, serializer_class=self.QuerySerializer)
        panel = getattr(request, "panel", None)
        if panel is None and "panel" in query:
            panel = panel_get(panel_id=query["panel"])
            if panel is None:
                raise serializers.ValidationError(
                    {"panel": "No panel of this clinic has this id."}, code="invalid"
                )
        state = {**panel_state(recent=query["limit"], panel=panel), "panel": panel}
        answer = Response(self.OutputSerializer(state).data)
        answer["Cache-Control"] = "no-store"
        return answer


urlpatterns = [path("panel/", PanelApi.as_view(), name="panel")]
