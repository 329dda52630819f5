"""Sign-in with e-mail and password, refresh and sign-out: tokens that work on one host."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import examples
from accounts.api.serializers import RefreshInputSerializer, TokenPairSerializer, token_pair_data
from accounts.openapi import ErrorResponse401Serializer
from accounts.services import (
    clinic_membership_joined,
    refresh_token_revoke,
    refresh_token_rotate,
)
from accounts.throttles import (
    SignInLimited,
    sign_in_attempt_fail,
    sign_in_attempt_start,
    sign_in_attempt_succeed,
)
from accounts.tokens import user_token_issue
from common.net import client_address

AUTH_TAG = ["auth"]


class CredentialsApi(APIView):
    """An endpoint that takes credentials or a refresh token in the body, never a bearer token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request) -> str:
        # Keeps refusals 401: DRF answers 403 for views without authentication classes.
        return 'Bearer realm="api"'


class SignInThrottled(Throttled):
    # DRF appends the wait in the request's language to a detail that is English here.
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."


def sign_in_attempt_begin(request, *, kind: str, account: str):
    """The sign-in limits' count of this attempt, or 429 `throttled` with Retry-After."""
    try:
        return sign_in_attempt_start(kind=kind, account=account, address=client_address(request))
    except SignInLimited as refusal:
        raise SignInThrottled(
            wait=refusal.retry_after, detail="Too many failed sign-in attempts."
        ) from None


def _bad_credentials() -> AuthenticationFailed:
    return AuthenticationFailed(
        detail="E-mail or password is wrong, or this account has no access here.",
        code="invalid_credentials",
    )


class TokenObtainApi(CredentialsApi):
    """Sign in with e-mail and password; the tokens work only on this host."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TokenObtainInput"

        email = serializers.EmailField()
        password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})

    @extend_schema(
        tags=AUTH_TAG,
        operation_id="auth_token_obtain",
        request=InputSerializer,
        responses={200: TokenPairSerializer, 401: ErrorResponse401Serializer},
        examples=[examples.SIGN_IN, examples.CLINIC_PAIR, examples.CHAIN_PAIR],
        description=(
            "On a clinic host: staff with an active membership there get a token for that clinic "
            "only. On the public host: chain managers get a token for the public host and the "
            "clinics of their chains (platform operators too, for the chain API). Wrong "
            "credentials, or no access on this host, answer 401 `invalid_credentials`. After 5 "
            "failures per minute for one account from one address, or 20 from one address, "
            "sign-in answers 429 with Retry-After."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"].lower()
        attempt = sign_in_attempt_begin(request, kind="user", account=email)
        user = authenticate(
            request._request, email=email, password=serializer.validated_data["password"]
        )
        refresh = user_token_issue(user=user, clinic=request.tenant) if user else None
        if refresh is None:
            sign_in_attempt_fail(attempt=attempt)
            raise _bad_credentials()
        sign_in_attempt_succeed(attempt=attempt)
        if request.tenant is not None and user is not None:
            clinic_membership_joined(user=user, clinic=request.tenant)
        return Response(TokenPairSerializer(token_pair_data(refresh)).data)


class TokenRefreshApi(CredentialsApi):
    """Exchange a refresh token for a new pair; the old refresh token stops working."""

    @extend_schema(
        tags=AUTH_TAG,
        operation_id="auth_token_refresh",
        request=RefreshInputSerializer,
        responses={200: TokenPairSerializer, 401: ErrorResponse401Serializer},
        examples=[examples.CLINIC_PAIR],
        description=(
            "Checked as strictly as every request: the refresh token must be for this host and "
            "its membership still active. The scope is rebuilt from live memberships (a changed "
            "role or new chain shows up here). Each refresh token works once: reuse answers 401 "
            "`token_blacklisted`."
        ),
    )
    def post(self, request):
        serializer = RefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refresh = refresh_token_rotate(
            raw=serializer.validated_data["refresh"], clinic=request.tenant
        )
        return Response(TokenPairSerializer(token_pair_data(refresh)).data)


class LogoutApi(CredentialsApi):
    """Sign out: the refresh token is revoked (the short-lived access token simply expires)."""

    @extend_schema(
        tags=AUTH_TAG,
        operation_id="auth_logout",
        request=RefreshInputSerializer,
        responses={
            204: OpenApiResponse(description="Signed out."),
            401: ErrorResponse401Serializer,
        },
        description=(
            "Blacklists the refresh token so it can no longer be refreshed. Signing out twice "
            "is harmless. A refresh token of another host answers 401."
        ),
    )
    def post(self, request):
        serializer = RefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refresh_token_revoke(raw=serializer.validated_data["refresh"], clinic=request.tenant)
        return Response(status=status.HTTP_204_NO_CONTENT)
