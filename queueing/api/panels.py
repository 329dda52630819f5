"""The clinic's waiting-room panels (clinic admins): list, create, change, delete, new key."""

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ADMIN, ClinicAccess
from common.api import IdField, django_validation_to_api
from queueing.models import Panel
from queueing.panel_access import panel_link
from queueing.selectors.queue import panel_get, panel_list
from queueing.services.panels import panel_create, panel_delete, panel_key_rotate, panel_update

PANELS_TAG = ["panels"]


class PanelOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "PanelSettings"

    id = serializers.IntegerField()
    name = serializers.CharField()
    is_default = serializers.BooleanField(help_text="The clinic's first panel; not deletable.")
    desks = serializers.SerializerMethodField()
    services = serializers.SerializerMethodField()
    voice_enabled = serializers.BooleanField()
    voice_rate = serializers.FloatField()
    key_rotated_at = serializers.DateTimeField(allow_null=True)

    def get_desks(self, panel: Panel) -> list[int]:
        return [desk.pk for desk in panel.desks.all()]

    def get_services(self, panel: Panel) -> list[int]:
        return [service.pk for service in panel.services.all()]


class PanelWithKeyOutputSerializer(PanelOutputSerializer):
    class Meta:
        ref_name = "PanelWithKey"

    key = serializers.CharField(
        help_text="Shown once (only its digest is kept): for displays sending X-Panel-Key."
    )
    panel_url = serializers.URLField(
        help_text="Open this on the TV; the key is in the fragment (`#key=`), which browsers "
        "never send to the server."
    )


class PanelInputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "PanelInput"

    name = serializers.CharField(max_length=80)
    desks = serializers.ListField(
        child=IdField(),
        required=False,
        default=list,
        max_length=500,
        help_text="Desks whose calls the panel shows.",
    )
    services = serializers.ListField(
        child=IdField(),
        required=False,
        default=list,
        max_length=500,
        help_text="The panel also shows the desks serving these services. Neither desks nor "
        "services: every desk.",
    )
    voice_enabled = serializers.BooleanField(required=False, default=False)
    voice_rate = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        min_value=Decimal("0.5"),
        max_value=Decimal(2),
        required=False,
        default=Decimal(1),
    )


def _service_kwargs(data: dict) -> dict:
    kwargs = dict(data)
    if "desks" in kwargs:
        kwargs["desk_ids"] = kwargs.pop("desks")
    if "services" in kwargs:
        kwargs["service_ids"] = kwargs.pop("services")
    return kwargs


def _with_key(request, panel: Panel, key: str) -> dict:
    panel = panel_get(panel_id=panel.pk) or panel
    body = {**PanelOutputSerializer(panel).data, "key": key}
    body["panel_url"] = panel_link(request=request, key=key)
    return body


KEY_EXAMPLE = OpenApiExample(
    "panel and its key",
    value={
        "id": 2,
        "name": "Térreo",
        "is_default": False,
        "desks": [1, 2],
        "services": [],
        "voice_enabled": True,
        "voice_rate": 1.0,
        "key_rotated_at": None,
        "key": "mWv1o0c2Jd6Qm9oVqgC4sX2n7kT5yZbA",
        "panel_url": "https://centro.clinico.example/panel/#key=mWv1o0c2Jd6Qm9oVqgC4sX2n7kT5yZbA",
    },
    response_only=True,
)


class _PanelAdminApi(APIView):
    allowed_roles = ADMIN
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]

    def _panel(self, panel_id: int) -> Panel:
        panel = panel_get(panel_id=panel_id)
        if panel is None:
            raise Http404("No such panel at this clinic.")
        return panel


def _saved(write, **kwargs):
    try:
        return write(**kwargs)
    except DjangoValidationError as error:
        raise django_validation_to_api(error) from None


class PanelListCreateApi(_PanelAdminApi):
    """GET: the clinic's panels. POST: a new panel, answered with its key and link (once)."""

    @extend_schema(
        tags=PANELS_TAG,
        operation_id="panels_list",
        responses={200: PanelOutputSerializer(many=True)},
    )
    def get(self, request):
        return Response(PanelOutputSerializer(panel_list(), many=True).data)

    @extend_schema(
        tags=PANELS_TAG,
        operation_id="panels_create",
        request=PanelInputSerializer,
        responses={201: PanelWithKeyOutputSerializer},
        examples=[KEY_EXAMPLE],
    )
    def post(self, request):
        serializer = PanelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        panel, key = _saved(panel_create, **_service_kwargs(serializer.validated_data))
        answer = Response(_with_key(request, panel, key), status=status.HTTP_201_CREATED)
        answer["Cache-Control"] = "no-store"
        return answer


class PanelDetailApi(_PanelAdminApi):
    """GET: one panel. PATCH: rename it, change its desks, services or voice. DELETE: remove."""

    @extend_schema(
        tags=PANELS_TAG, operation_id="panels_retrieve", responses={200: PanelOutputSerializer}
    )
    def get(self, request, panel_id: int):
        return Response(PanelOutputSerializer(self._panel(panel_id)).data)

    @extend_schema(
        tags=PANELS_TAG,
        operation_id="panels_partial_update",
        request=PanelInputSerializer(partial=True),
        responses={200: PanelOutputSerializer},
    )
    def patch(self, request, panel_id: int):
        panel = self._panel(panel_id)
        serializer = PanelInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        panel = _saved(panel_update, panel=panel, **_service_kwargs(serializer.validated_data))
        return Response(PanelOutputSerializer(panel_get(panel_id=panel.pk)).data)

    @extend_schema(
        tags=PANELS_TAG,
        operation_id="panels_destroy",
        request=None,
        responses={204: None},
        description="Its TV is refused from the next request on. The default panel cannot be "
        "deleted (403).",
    )
    def delete(self, request, panel_id: int):
        panel = self._panel(panel_id)
        if panel.is_default:
            raise PermissionDenied("The default panel cannot be deleted; rename or change it.")
        _saved(panel_delete, panel=panel)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PanelKeyApi(_PanelAdminApi):
    """A new key for one panel: its TV (key or cookie) is refused until the new link is opened."""

    @extend_schema(
        tags=PANELS_TAG,
        operation_id="panels_key_rotate",
        request=None,
        responses={200: PanelWithKeyOutputSerializer},
        examples=[KEY_EXAMPLE],
    )
    def post(self, request, panel_id: int):
        panel, key = panel_key_rotate(panel=self._panel(panel_id))
        answer = Response(_with_key(request, panel, key))
        answer["Cache-Control"] = "no-store"
        return answer


urlpatterns = [
    path("panels/", PanelListCreateApi.as_view(), name="panels"),
    path("panels/<int:panel_id>/", PanelDetailApi.as_view(), name="panels-detail"),
    path("panels/<int:panel_id>/key/rotate/", PanelKeyApi.as_view(), name="panels-key-rotate"),
]
