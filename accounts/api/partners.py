"""Partner systems exchange client credentials for an access token (public host)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response

from accounts.api import examples
from accounts.api.auth import AUTH_TAG, CredentialsApi, sign_in_attempt_begin
from accounts.api.serializers import TokenScopeSerializer, token_scope_data
from accounts.openapi import ErrorResponse401Serializer
from accounts.selectors import partner_client_clinic_schemas
from accounts.services import partner_client_authenticate
from accounts.throttles import sign_in_attempt_fail, sign_in_attempt_succeed
from accounts.tokens import partner_token_issue, token_lifetime_seconds


class PartnerTokenApi(CredentialsApi):
    """Partner systems: exchange client credentials for an access token (public host)."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PartnerTokenInput"

        client_id = serializers.CharField(max_length=64)
        client_secret = serializers.CharField(trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PartnerToken"

        access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
        token_type = serializers.CharField(default="Bearer")
        expires_in = serializers.IntegerField(help_text="Seconds; then exchange again.")
        scope = TokenScopeSerializer()

    @extend_schema(
        tags=AUTH_TAG,
        operation_id="auth_partner_token",
        request=InputSerializer,
        responses={200: OutputSerializer, 401: ErrorResponse401Serializer},
        examples=[examples.PARTNER_CREDENTIALS, examples.PARTNER_TOKEN],
        description=(
            "The token works on the hosts of the client's clinics only (listed in `scope` as of "
            "now; the token itself names the client, so its size does not grow with the clinics), "
            "for reads (`read`) or reads and writes (`read_write`), and is refused from the next "
            "request on once the client is revoked or a clinic is removed from it. No refresh "
            "token: exchange the "
            "credentials again. Each client has a requests-per-minute limit (429 with "
            "Retry-After)."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client_id = serializer.validated_data["client_id"]
        attempt = sign_in_attempt_begin(request, kind="partner", account=client_id)
        client = partner_client_authenticate(
            client_id=client_id, secret=serializer.validated_data["client_secret"]
        )
        if client is None:
            sign_in_attempt_fail(attempt=attempt)
            raise AuthenticationFailed(
                detail="Unknown client id, wrong secret, or the client was revoked.",
                code="invalid_client",
            )
        sign_in_attempt_succeed(attempt=attempt)
        token = partner_token_issue(client=client)
        # The token itself names only the client; the answer lists its clinics as of now.
        scope = token_scope_data(token) | {"clinics": partner_client_clinic_schemas(client=client)}
        data = {
            "access": str(token),
            "token_type": "Bearer",
            "expires_in": token_lifetime_seconds(token),
            "scope": scope,
        }
        return Response(self.OutputSerializer(data).data)
