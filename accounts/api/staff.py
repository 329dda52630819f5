"""The clinic's staff on its host: list, invite, change roles, deactivate (clinic admins)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import examples
from accounts.models import ClinicMembership, ClinicRole
from accounts.permissions import ADMIN, ClinicAccess
from accounts.selectors import staff_list, staff_membership_get
from accounts.services import (
    clinic_membership_deactivate,
    clinic_membership_role_change,
    staff_invitation_send,
    staff_invite,
)
from common.api import django_validation_to_api
from common.net import request_origin

STAFF_TAG = ["staff"]


class StaffOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "StaffMember"

    id = serializers.IntegerField(help_text="The membership's id.")
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(
        help_text="The name this clinic gave when inviting them (never another clinic's)."
    )
    role = serializers.ChoiceField(choices=ClinicRole.choices)
    is_active = serializers.BooleanField()
    can_sign_in = serializers.SerializerMethodField(
        help_text="False while the invitation is pending: until the person first signs in at "
        "this clinic, whether or not they have an account elsewhere."
    )
    created_at = serializers.DateTimeField()

    def get_can_sign_in(self, membership) -> bool:
        return membership.joined_at is not None and membership.user.is_active


class _StaffAdminApi(APIView):
    allowed_roles = ADMIN
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]

    def _membership(self, request, membership_id: int) -> ClinicMembership:
        membership = staff_membership_get(clinic=request.tenant, membership_id=membership_id)
        if membership is None:
            raise Http404("No such staff member at this clinic.")
        return membership


class StaffApi(_StaffAdminApi):
    """The clinic's staff: list them, or add someone (clinic admins)."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StaffInviteInput"

        email = serializers.EmailField()
        full_name = serializers.CharField(
            max_length=150, required=False, allow_blank=True, default=""
        )
        role = serializers.ChoiceField(choices=ClinicRole.choices)

    @extend_schema(
        tags=STAFF_TAG,
        operation_id="staff_list",
        responses={200: StaffOutputSerializer(many=True)},
        examples=[examples.STAFF_LIST],
    )
    def get(self, request):
        return Response(StaffOutputSerializer(staff_list(clinic=request.tenant), many=True).data)

    @extend_schema(
        tags=STAFF_TAG,
        operation_id="staff_invite",
        request=InputSerializer,
        responses={201: StaffOutputSerializer},
        examples=[examples.STAFF_INVITE, examples.STAFF_INVITED],
        description=(
            "Adds a person to this clinic with a role and e-mails them: a new e-mail gets an "
            "account without a password and a one-time link to choose it (3 days); someone who "
            "already has a password is told they can sign in here. A former member is "
            "reactivated."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            membership = staff_invite(
                clinic=request.tenant, origin=request_origin(request), **serializer.validated_data
            )
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        return Response(StaffOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class StaffRoleApi(_StaffAdminApi):
    """Change a staff member's role (clinic admins)."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StaffRoleInput"

        role = serializers.ChoiceField(choices=ClinicRole.choices)

    @extend_schema(
        tags=STAFF_TAG,
        operation_id="staff_role_change",
        request=InputSerializer,
        responses={200: StaffOutputSerializer},
        examples=[examples.STAFF_MAKE_ADMIN, examples.STAFF_ROLE_CHANGED],
        description="Takes effect on the member's next request. The last admin stays admin.",
    )
    def patch(self, request, membership_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = self._membership(request, membership_id)
        try:
            membership = clinic_membership_role_change(
                membership=membership, role=serializer.validated_data["role"]
            )
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        return Response(StaffOutputSerializer(membership).data)


class StaffDeactivateApi(_StaffAdminApi):
    """Remove a staff member's access to this clinic (clinic admins)."""

    @extend_schema(
        tags=STAFF_TAG,
        operation_id="staff_deactivate",
        request=None,
        responses={200: StaffOutputSerializer},
        examples=[examples.STAFF_DEACTIVATED],
        description=(
            "Their tokens for this clinic are refused from their next request on (401 "
            "`membership_inactive`). Invite them again to restore access."
        ),
    )
    def post(self, request, membership_id: int):
        membership = self._membership(request, membership_id)
        try:
            membership = clinic_membership_deactivate(membership=membership)
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        return Response(StaffOutputSerializer(membership).data)


class StaffInvitationApi(_StaffAdminApi):
    """E-mail a staff member's invitation again (clinic admins)."""

    @extend_schema(
        tags=STAFF_TAG,
        operation_id="staff_invitation_resend",
        request=None,
        responses={202: StaffOutputSerializer},
        description=(
            "A new one-time link to choose a password (earlier links keep working until one is "
            "used or they expire), or, for someone who has a password, word that they can sign "
            "in here. 400 for a deactivated member: invite them again."
        ),
    )
    def post(self, request, membership_id: int):
        membership = self._membership(request, membership_id)
        try:
            staff_invitation_send(membership=membership, origin=request_origin(request))
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        return Response(StaffOutputSerializer(membership).data, status=status.HTTP_202_ACCEPTED)
