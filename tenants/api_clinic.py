"""The clinic's own settings on its host, for its clinic admins: the waiting-room panel's key."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ADMIN, ClinicAccess
from queueing.panel_access import panel_link
from tenants.services import clinic_panel_key_rotate


class PanelKeyRotateApi(APIView):
    """Replace the panel key: the TV (and any display) with the old key or cookie is refused."""

    allowed_roles = ADMIN
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]

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
        description="Clinic admins only. The old key, and every panel cookie made from it, are "
        "refused from the next request on: open the new link on the TV.",
    )
    def post(self, request):
        clinic = clinic_panel_key_rotate(clinic=request.tenant, actor=request.user)
        key = clinic.panel_key
        body = {"key": key, "panel_url": panel_link(request=request, key=key)}
        answer = Response(self.OutputSerializer(body).data)
        answer["Cache-Control"] = "no-store"
        return answer
