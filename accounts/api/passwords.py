"""Passwords: "forgot my password" (a one-time link by e-mail), setting one from such a link,
and changing one when signed in. On both hosts; every session signed in before a change ends."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.auth import CredentialsApi, sign_in_attempt_begin
from accounts.openapi import ErrorResponse401Serializer
from accounts.permissions import ALL_STAFF, ChainManagerAccess, ClinicAccess
from accounts.services import password_reset_confirm, password_reset_request, user_password_change
from common.api import django_validation_to_api
from common.net import request_origin

AUTH_TAG = ["auth"]


class _DetailSerializer(serializers.Serializer):
    class Meta:
        ref_name = "Detail"

    detail = serializers.CharField()


class PasswordResetRequestApi(CredentialsApi):
    """E-mail a one-time link to choose a new password."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PasswordResetRequestInput"

        email = serializers.EmailField()

    @extend_schema(
        tags=AUTH_TAG,
        operation_id="auth_password_reset",
        request=InputSerializer,
        responses={202: _DetailSerializer},
        description=(
            "Always 202 with the same body, whether or not the e-mail has an account: the answer "
            "never tells. An active account gets an e-mail with a link that works once, for "
            "PASSWORD_RESET_TIMEOUT (3 days). Each request counts as a failed sign-in for the "
            "sign-in limits (5 a minute per e-mail and address): more answer 429."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Counted like a failed sign-in, and left counted: no one e-mails a person in a loop.
        sign_in_attempt_begin(
            request, kind="password_link", account=serializer.validated_data["email"]
        )
        password_reset_request(
            email=serializer.validated_data["email"], origin=request_origin(request)
        )
        body = {
            "detail": "If this e-mail has an account, a link to choose a password is on its way."
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(CredentialsApi):
    """Choose a password with the link's two parts (an invitation's, or a reset's)."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PasswordResetConfirmInput"

        uid = serializers.CharField(max_length=64, help_text="The link's first part.")
        token = serializers.CharField(max_length=128, help_text="The link's second part.")
        password = serializers.CharField(
            max_length=128, trim_whitespace=False, style={"input_type": "password"}
        )

    @extend_schema(
        tags=AUTH_TAG,
        operation_id="auth_password_reset_confirm",
        request=InputSerializer,
        responses={204: OpenApiResponse(description="Password set; sign in with it.")},
        description=(
            "400 `token` for a link that is wrong, expired or used; 400 `password` with the "
            "validators' reasons. Every session and token of the person signed in before ends."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            password_reset_confirm(
                uidb64=data["uid"], token=data["token"], password=data["password"]
            )
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(APIView):
    """A signed-in person changes their password (staff on a clinic host, managers on public)."""

    allowed_roles = ALL_STAFF
    manager_access = False
    partner_access = None

    def get_permissions(self):
        on_clinic = getattr(self.request, "tenant", None) is not None
        return [ClinicAccess() if on_clinic else ChainManagerAccess()]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PasswordChangeInput"

        current_password = serializers.CharField(
            max_length=128, trim_whitespace=False, style={"input_type": "password"}
        )
        new_password = serializers.CharField(
            max_length=128, trim_whitespace=False, style={"input_type": "password"}
        )

    @extend_schema(
        tags=AUTH_TAG,
        operation_id="auth_password_change",
        request=InputSerializer,
        responses={
            204: OpenApiResponse(description="Changed; sign in again with the new password."),
            401: ErrorResponse401Serializer,
        },
        description=(
            "Every token of the person, this one included, stops working (401 "
            "`password_changed`): sign in again. 400 `current_password` when it is wrong."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user_password_change(user=request.user, **serializer.validated_data)
        except DjangoValidationError as error:
            raise django_validation_to_api(error) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
