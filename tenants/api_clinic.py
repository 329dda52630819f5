"""The clinic's own settings on its host, for its clinic admins: name, timezone, reset time, the
totem's key and settings, and the default waiting-room panel's key (each panel's key:
`panels/{id}/key/rotate/`)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ADMIN, ClinicAccess
from common.api import django_validation_to_api
from queueing.panel_access import panel_link
from queueing.totem_access import totem_link
from tenants.api import HourMinuteField, validate_timezone
from tenants.models import Clinic, TicketPaper, TotemNewPatients
from tenants.services import (
    clinic_panel_key_rotate,
    clinic_totem_key_rotate,
    clinic_totem_settings_update,
    clinic_update_settings,
)


class _ClinicAdminApi(APIView):
    allowed_roles = ADMIN
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]


class PanelKeyRotateApi(_ClinicAdminApi):
    """Replace the default panel's key: the TV (and any display) with the old key is refused."""

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PanelKey"

        key = serializers.CharField(help_text="For displays that send the X-Panel-Key header.")
        panel_url = serializers.URLField(
            help_text="Open this on the TV; the key is in the fragment (`#key=`), which browsers "
            "never send to the server."
        )

    @extend_schema(
        operation_id="panel_key_rotate",
        request=None,
        responses={200: OutputSerializer},
        examples=[
            OpenApiExample(
                "new key",
                value={
                    "key": "mWv1o0c2Jd6Qm9oVqgC4sX2n7kT5yZbA",
                    "panel_url": "https://centro.clinico.example/panel/"
                    "#key=mWv1o0c2Jd6Qm9oVqgC4sX2n7kT5yZbA",
                },
                response_only=True,
            )
        ],
        description="Clinic admins only. The default panel's old key, and every panel cookie "
        "made from it, are refused from the next request on: open the new link on the TV. "
        "Other panels: `POST panels/{id}/key/rotate/`.",
    )
    def post(self, request):
        key = clinic_panel_key_rotate(clinic=request.tenant, actor=request.user)
        body = {"key": key, "panel_url": panel_link(request=request, key=key)}
        answer = Response(self.OutputSerializer(body).data)
        answer["Cache-Control"] = "no-store"
        return answer


class TotemKeyRotateApi(APIView):
    """Replace the totem key: a totem holding the old key or its cookie is refused."""

    allowed_roles = ADMIN
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TotemKey"

        key = serializers.CharField(help_text="The new totem key.")
        totem_url = serializers.URLField(
            help_text="Open this on the totem; the key is in the fragment (`#key=`), which "
            "browsers never send to the server."
        )

    @extend_schema(
        operation_id="totem_key_rotate",
        request=None,
        responses={200: OutputSerializer},
        examples=[
            OpenApiExample(
                "new key",
                value={
                    "key": "q3Yx0c2Jd6Qm9oVqgC4sX2n7kT5yZbAm",
                    "totem_url": "https://centro.clinico.example/totem/"
                    "#key=q3Yx0c2Jd6Qm9oVqgC4sX2n7kT5yZbAm",
                },
                response_only=True,
            )
        ],
        description="Clinic admins only. The old key, and every totem cookie made from it, are "
        "refused from the next request on: open the new link on the totem.",
    )
    def post(self, request):
        clinic = clinic_totem_key_rotate(clinic=request.tenant, actor=request.user)
        key = clinic.totem_key
        body = {"key": key, "totem_url": totem_link(request=request, key=key)}
        answer = Response(self.OutputSerializer(body).data)
        answer["Cache-Control"] = "no-store"
        return answer


class TotemSettingsSerializer(serializers.Serializer):
    class Meta:
        ref_name = "TotemSettings"

    new_patients = serializers.ChoiceField(
        choices=TotemNewPatients.choices,
        help_text="What the totem does with a CPF the clinic does not know: `register` asks for "
        "the name and birth date; `reception` sends the patient to reception.",
    )
    ticket_paper_mm = serializers.ChoiceField(
        choices=TicketPaper.choices, help_text="Width of the thermal paper tickets print on."
    )


def _totem_settings(clinic) -> dict:
    return {"new_patients": clinic.totem_new_patients, "ticket_paper_mm": clinic.ticket_paper_mm}


class TotemSettingsApi(APIView):
    """The totem's settings: new CPFs registered at the totem or sent to reception; paper."""

    allowed_roles = ADMIN
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]

    @extend_schema(operation_id="totem_settings_retrieve", responses={200: TotemSettingsSerializer})
    def get(self, request):
        clinic = type(request.tenant).objects.get(pk=request.tenant.pk)
        return Response(TotemSettingsSerializer(_totem_settings(clinic)).data)

    @extend_schema(
        operation_id="totem_settings_update",
        request=TotemSettingsSerializer(partial=True),
        responses={200: TotemSettingsSerializer},
        examples=[
            OpenApiExample(
                "send new patients to reception",
                value={"new_patients": "reception"},
                request_only=True,
            )
        ],
    )
    def patch(self, request):
        serializer = TotemSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            clinic = clinic_totem_settings_update(
                clinic=request.tenant,
                new_patients=data.get("new_patients"),
                ticket_paper_mm=data.get("ticket_paper_mm"),
                actor=request.user,
            )
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        return Response(TotemSettingsSerializer(_totem_settings(clinic)).data)


class ClinicOwnSettingsApi(_ClinicAdminApi):
    """This clinic's display name, timezone and daily reset time (clinic admins)."""

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ClinicOwnSettings"

        slug = serializers.CharField(source="schema_name")
        name = serializers.CharField()
        timezone = serializers.CharField()
        reset_time = HourMinuteField()

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ClinicOwnSettingsUpdate"

        name = serializers.CharField(max_length=120, required=False)
        timezone = serializers.CharField(
            max_length=64, validators=[validate_timezone], required=False
        )
        reset_time = serializers.TimeField(required=False, help_text="HH:MM, clinic-local.")

    @extend_schema(
        tags=["clinic"], operation_id="clinic_own_settings_get", responses={200: OutputSerializer}
    )
    def get(self, request):
        clinic = Clinic.objects.get(pk=request.tenant.pk)
        return Response(self.OutputSerializer(clinic).data)

    @extend_schema(
        tags=["clinic"],
        operation_id="clinic_own_settings_update",
        request=InputSerializer,
        responses={200: OutputSerializer},
        description="A new timezone or reset time moves the clinic's daily reset at once.",
    )
    def patch(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        clinic = Clinic.objects.get(pk=request.tenant.pk)
        try:
            clinic = clinic_update_settings(clinic=clinic, **data.validated_data)
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        return Response(self.OutputSerializer(clinic).data)
