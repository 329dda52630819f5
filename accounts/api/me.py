"""`me/`: who I am, my role on this host, my clinics and chains."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import examples
from accounts.authentication import PartnerPrincipal
from accounts.models import ClinicRole, PartnerScope, User
from accounts.permissions import request_clinic_role
from accounts.selectors import (
    partner_client_clinics,
    user_chain_memberships,
    user_clinic_memberships,
)


def _partner_data(partner: PartnerPrincipal) -> dict:
    return {
        "principal": "partner",
        "email": None,
        "full_name": partner.name,
        "is_operator": False,
        "client_id": partner.client_id,
        "partner_access": partner.access,
        "clinics": [
            {"slug": clinic.schema_name, "name": getattr(clinic, "name", ""), "role": None}
            for clinic in partner_client_clinics(client_id=partner.client_id)
        ],
        "chains": [],
        "role": None,
    }


def _person_data(user: User, *, role: str | None) -> dict:
    return {
        "principal": "user",
        "email": user.email,
        "full_name": user.full_name,
        "is_operator": user.is_staff,
        "client_id": None,
        "partner_access": None,
        "clinics": [
            {"slug": m.clinic.schema_name, "name": m.clinic.name, "role": m.role}
            for m in user_clinic_memberships(user=user)
        ],
        "chains": [
            {"id": m.chain.pk, "slug": m.chain.slug, "name": m.chain.name}
            for m in user_chain_memberships(user=user)
        ],
        "role": role,
    }


class MeApi(APIView):
    """Who I am, my role on this host, my clinics and chains."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Me"

        class ClinicSerializer(serializers.Serializer):
            class Meta:
                ref_name = "MeClinic"

            slug = serializers.CharField()
            name = serializers.CharField()
            role = serializers.ChoiceField(choices=ClinicRole.choices, allow_null=True)

        class ChainSerializer(serializers.Serializer):
            class Meta:
                ref_name = "MeChain"

            id = serializers.IntegerField()
            slug = serializers.CharField()
            name = serializers.CharField()

        principal = serializers.ChoiceField(
            choices=["user", "partner"], help_text="A person, or a partner system."
        )
        email = serializers.EmailField(allow_null=True)
        full_name = serializers.CharField(allow_null=True)
        is_operator = serializers.BooleanField(help_text="Platform operator (Django admin).")
        client_id = serializers.CharField(allow_null=True, help_text="Partners only.")
        partner_access = serializers.ChoiceField(choices=PartnerScope.choices, allow_null=True)
        token_scope = serializers.ChoiceField(
            choices=["clinic", "chain", "partner", "session"],
            help_text="How this request was authenticated.",
        )
        clinic = ClinicSerializer(allow_null=True, help_text="This host's clinic (clinic hosts).")
        role = serializers.ChoiceField(
            choices=ClinicRole.choices, allow_null=True, help_text="My role at this host's clinic."
        )
        clinics = ClinicSerializer(many=True, help_text="Clinics where I have a role.")
        chains = ChainSerializer(many=True, help_text="Chains I manage.")

    @extend_schema(
        tags=["auth"],
        operation_id="me",
        responses={200: OutputSerializer},
        examples=[examples.ME_RECEPTIONIST],
    )
    def get(self, request):
        user = request.user
        if isinstance(user, PartnerPrincipal):
            data = _partner_data(user)
        else:
            data = _person_data(user, role=request_clinic_role(request))
        tenant = request.tenant
        token = request.auth
        data["token_scope"] = token.get("scope") if hasattr(token, "get") else "session"
        data["clinic"] = (
            {"slug": tenant.schema_name, "name": tenant.name, "role": data["role"]}
            if tenant
            else None
        )
        return Response(self.OutputSerializer(data).data)
