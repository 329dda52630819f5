"""Sign-in, tokens, `me/` and the clinic's staff: the accounts API on both hosts."""

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError

from accounts.authentication import (
    PartnerPrincipal,
    session_expired,
    token_expired,
    token_host_check,
    token_invalid,
    token_principal,
    token_wrong_host,
)
from accounts.models import ClinicRole, PartnerScope, User
from accounts.openapi import ErrorResponse401Serializer
from accounts.permissions import ADMIN, ClinicAccess, request_clinic_role
from accounts.selectors import (
    clinic_role_of,
    managed_chain_ids,
    partner_client_clinic_schemas,
    staff_list,
    staff_membership_get,
    user_chain_memberships,
    user_clinic_memberships,
)
from accounts.services import (
    clinic_membership_deactivate,
    clinic_membership_role_change,
    partner_client_authenticate,
    staff_invite,
)
from accounts.throttles import (
    SignInLimited,
    sign_in_attempt_fail,
    sign_in_attempt_start,
    sign_in_attempt_succeed,
)
from accounts.tokens import (
    AUTH_TIME_CLAIM,
    SCOPE_CHAIN,
    SCOPE_CLINIC,
    BlacklistedTokenError,
    ScopedRefreshToken,
    SessionExpiredError,
    chain_token_issue,
    clinic_token_issue,
    partner_token_issue,
    token_lifetime_seconds,
)
from common.net import client_address

AUTH_TAG = ["auth"]


def _validation_error(error: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(error, "error_dict"):
        return serializers.ValidationError(error.message_dict)
    return serializers.ValidationError({"non_field_errors": error.messages})


# --- token shapes ------------------------------------------------------------------------------


class TokenScopeSerializer(serializers.Serializer):
    class Meta:
        ref_name = "TokenScope"

    scope = serializers.ChoiceField(choices=["clinic", "chain", "partner"])
    clinic = serializers.CharField(
        allow_null=True, help_text="Clinic tokens: the clinic (slug) where the token works."
    )
    role = serializers.ChoiceField(
        choices=ClinicRole.choices, allow_null=True, help_text="Clinic tokens: role when issued."
    )
    chains = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="Manager tokens: ids of the chains managed when issued.",
    )
    clinics = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="Partner tokens: the clinics (slugs) the token works on.",
    )
    access = serializers.ChoiceField(
        choices=PartnerScope.choices, allow_null=True, help_text="Partner tokens: read or write."
    )


def _scope_data(token) -> dict:
    return {
        "scope": token["scope"],
        "clinic": token.get("clinic"),
        "role": token.get("role"),
        "chains": token.get("chains"),
        "clinics": token.get("clinics"),
        "access": token.get("access"),
    }


class TokenPairSerializer(serializers.Serializer):
    class Meta:
        ref_name = "TokenPair"

    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Exchange at `auth/token/refresh/` on this host.")
    token_type = serializers.CharField(default="Bearer")
    access_expires_in = serializers.IntegerField(help_text="Seconds.")
    refresh_expires_in = serializers.IntegerField(help_text="Seconds.")
    scope = TokenScopeSerializer()


def _pair_data(refresh) -> dict:
    access = refresh.access_token
    return {
        "access": str(access),
        "refresh": str(refresh),
        "token_type": "Bearer",
        "access_expires_in": token_lifetime_seconds(access),
        "refresh_expires_in": token_lifetime_seconds(refresh),
        "scope": _scope_data(refresh),
    }


CLINIC_PAIR_EXAMPLE = OpenApiExample(
    "clinic staff (clinic host)",
    value={
        "access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6ImNsaW5pYyJ9.sig",
        "refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.sig",
        "token_type": "Bearer",
        "access_expires_in": 600,
        "refresh_expires_in": 86400,
        "scope": {
            "scope": "clinic",
            "clinic": "centro",
            "role": "receptionist",
            "chains": None,
            "clinics": None,
            "access": None,
        },
    },
    response_only=True,
)
CHAIN_PAIR_EXAMPLE = OpenApiExample(
    "chain manager (public host)",
    value={
        "access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6ImNoYWluIn0.sig",
        "refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.sig",
        "token_type": "Bearer",
        "access_expires_in": 600,
        "refresh_expires_in": 86400,
        "scope": {
            "scope": "chain",
            "clinic": None,
            "role": None,
            "chains": [1],
            "clinics": None,
            "access": None,
        },
    },
    response_only=True,
)


def _bad_credentials() -> AuthenticationFailed:
    return AuthenticationFailed(
        detail="E-mail or password is wrong, or this account has no access here.",
        code="invalid_credentials",
    )


class SignInThrottled(Throttled):
    # DRF appends the wait in the request's language to a detail that is English here.
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."


def _sign_in_attempt_start(request, *, kind: str, account: str):
    """The sign-in limits' count of this attempt, or 429 `throttled` with Retry-After."""
    try:
        return sign_in_attempt_start(kind=kind, account=account, address=client_address(request))
    except SignInLimited as refusal:
        raise SignInThrottled(
            wait=refusal.retry_after, detail="Too many failed sign-in attempts."
        ) from None


def _issue_for_host(*, user: User, tenant, auth_time: int | None = None):
    """A token pair scoped to the host, or None when `user` has no access there."""
    if tenant is not None:
        role = clinic_role_of(user=user, clinic=tenant)
        if not role:
            return None
        return clinic_token_issue(user=user, clinic=tenant, role=role, auth_time=auth_time)
    chain_ids = managed_chain_ids(user=user)
    if chain_ids or user.is_staff:
        return chain_token_issue(user=user, chain_ids=chain_ids, auth_time=auth_time)
    return None


def _bearer_challenge(view, request) -> str:
    """Keeps refusals 401 (DRF turns them into 403 for views without authentication classes)."""
    return 'Bearer realm="api"'


class TokenObtainApi(APIView):
    """Sign in with e-mail and password; the tokens work only on this host."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    get_authenticate_header = _bearer_challenge

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
        examples=[
            OpenApiExample(
                "demo receptionist",
                value={"email": "recepcao@centro.demo", "password": "clinico-demo"},
                request_only=True,
            ),
            CLINIC_PAIR_EXAMPLE,
            CHAIN_PAIR_EXAMPLE,
        ],
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
        attempt = _sign_in_attempt_start(request, kind="user", account=email)
        user = authenticate(
            request._request, email=email, password=serializer.validated_data["password"]
        )
        refresh = _issue_for_host(user=user, tenant=request.tenant) if user else None
        if refresh is None:
            sign_in_attempt_fail(attempt=attempt)
            raise _bad_credentials()
        sign_in_attempt_succeed(attempt=attempt)
        return Response(TokenPairSerializer(_pair_data(refresh)).data)


def _refresh_host_check(*, token: ScopedRefreshToken, tenant) -> None:
    """Refresh tokens are used where they were issued: a clinic's host, or the public host."""
    if token.get("scope") not in (SCOPE_CLINIC, SCOPE_CHAIN):
        raise token_invalid()
    if token["scope"] == SCOPE_CHAIN and tenant is not None:
        raise token_wrong_host()
    token_host_check(token=token, tenant=tenant)


def _refresh_token_decode(raw: str) -> ScopedRefreshToken:
    try:
        return ScopedRefreshToken(raw)
    except BlacklistedTokenError as error:
        raise AuthenticationFailed(
            detail="This refresh token was already used or signed out: sign in again.",
            code="token_blacklisted",
        ) from error
    except ExpiredTokenError as error:
        raise token_expired() from error
    except SessionExpiredError as error:
        raise session_expired() from error
    except TokenError as error:
        raise token_invalid() from error


class RefreshInputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "RefreshInput"

    refresh = serializers.CharField()


class TokenRefreshApi(APIView):
    """Exchange a refresh token for a new pair; the old refresh token stops working."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    get_authenticate_header = _bearer_challenge

    @extend_schema(
        tags=AUTH_TAG,
        operation_id="auth_token_refresh",
        request=RefreshInputSerializer,
        responses={200: TokenPairSerializer, 401: ErrorResponse401Serializer},
        examples=[CLINIC_PAIR_EXAMPLE],
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
        old = _refresh_token_decode(serializer.validated_data["refresh"])
        _refresh_host_check(token=old, tenant=request.tenant)
        user = token_principal(token=old, tenant=request.tenant)
        with transaction.atomic():
            _blacklisted, created = old.blacklist()
            if not created:  # a concurrent refresh of the same token won
                raise AuthenticationFailed(
                    detail="This refresh token was already used or signed out: sign in again.",
                    code="token_blacklisted",
                )
            refresh = _issue_for_host(
                user=user, tenant=request.tenant, auth_time=old[AUTH_TIME_CLAIM]
            )
        if refresh is None:
            raise token_invalid()
        return Response(TokenPairSerializer(_pair_data(refresh)).data)


class LogoutApi(APIView):
    """Sign out: the refresh token is revoked (the short-lived access token simply expires)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    get_authenticate_header = _bearer_challenge

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
        try:
            token = _refresh_token_decode(serializer.validated_data["refresh"])
        except AuthenticationFailed as error:
            if error.get_codes() == "token_blacklisted":
                return Response(status=status.HTTP_204_NO_CONTENT)
            raise
        _refresh_host_check(token=token, tenant=request.tenant)
        token.blacklist()
        return Response(status=status.HTTP_204_NO_CONTENT)


class PartnerTokenApi(APIView):
    """Partner systems: exchange client credentials for an access token (public host)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    get_authenticate_header = _bearer_challenge

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
        examples=[
            OpenApiExample(
                "credentials",
                value={"client_id": "pc_3f9a1c0d2b7e4a5f6c8d9e0a", "client_secret": "s3cr3t..."},
                request_only=True,
            ),
            OpenApiExample(
                "token",
                value={
                    "access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6InBhcnRuZXIifQ.sig",
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "scope": {
                        "scope": "partner",
                        "clinic": None,
                        "role": None,
                        "chains": None,
                        "clinics": ["centro", "manaus"],
                        "access": "read_write",
                    },
                },
                response_only=True,
            ),
        ],
        description=(
            "The token works on the hosts of the listed clinics only, for reads (`read`) or "
            "reads and writes (`read_write`), and is refused from the next request on once the "
            "client is revoked or a clinic is removed from it. No refresh token: exchange the "
            "credentials again. Each client has a requests-per-minute limit (429 with "
            "Retry-After)."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client_id = serializer.validated_data["client_id"]
        attempt = _sign_in_attempt_start(request, kind="partner", account=client_id)
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
        token = partner_token_issue(
            client=client, clinic_schemas=partner_client_clinic_schemas(client=client)
        )
        data = {
            "access": str(token),
            "token_type": "Bearer",
            "expires_in": token_lifetime_seconds(token),
            "scope": _scope_data(token),
        }
        return Response(self.OutputSerializer(data).data)


# --- me ----------------------------------------------------------------------------------------


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
        tags=AUTH_TAG,
        operation_id="me",
        responses={200: OutputSerializer},
        examples=[
            OpenApiExample(
                "receptionist on her clinic",
                value={
                    "principal": "user",
                    "email": "recepcao@centro.demo",
                    "full_name": "Recepcao Clínica Demo Centro",
                    "is_operator": False,
                    "client_id": None,
                    "partner_access": None,
                    "token_scope": "clinic",
                    "clinic": {
                        "slug": "centro",
                        "name": "Clínica Demo Centro",
                        "role": "receptionist",
                    },
                    "role": "receptionist",
                    "clinics": [
                        {"slug": "centro", "name": "Clínica Demo Centro", "role": "receptionist"}
                    ],
                    "chains": [],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        tenant = request.tenant
        here = {"slug": tenant.schema_name, "name": tenant.name, "role": None} if tenant else None
        token = request.auth
        token_scope = token.get("scope") if hasattr(token, "get") else "session"
        user = request.user
        if isinstance(user, PartnerPrincipal):
            data = {
                "principal": "partner",
                "email": None,
                "full_name": user.name,
                "is_operator": False,
                "client_id": user.client_id,
                "partner_access": user.access,
                "clinics": [{"slug": s, "name": s, "role": None} for s in user.clinics],
                "chains": [],
                "role": None,
            }
        else:
            data = {
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
                "role": request_clinic_role(request),
            }
        if here is not None:
            here["role"] = data["role"]
        data.update({"token_scope": token_scope, "clinic": here})
        return Response(self.OutputSerializer(data).data)


# --- staff of the clinic (clinic admins) -------------------------------------------------------


class StaffOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "StaffMember"

    id = serializers.IntegerField(help_text="The membership's id.")
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    role = serializers.ChoiceField(choices=ClinicRole.choices)
    is_active = serializers.BooleanField()
    can_sign_in = serializers.SerializerMethodField(
        help_text="False for invited people who have no password yet."
    )
    created_at = serializers.DateTimeField()

    def get_can_sign_in(self, membership) -> bool:
        return membership.user.has_usable_password() and membership.user.is_active


STAFF_EXAMPLE = {
    "id": 7,
    "email": "ana@centro.demo",
    "full_name": "Ana Souza",
    "role": "clinician",
    "is_active": True,
    "can_sign_in": False,
    "created_at": "2026-03-02T12:00:00Z",
}


class _StaffAdminAccess:
    allowed_roles = ADMIN
    manager_access = False
    partner_access = None
    permission_classes = [ClinicAccess]

    def _membership(self, request, membership_id: int):
        membership = staff_membership_get(clinic=request.tenant, membership_id=membership_id)
        if membership is None:
            raise Http404("No such staff member at this clinic.")
        return membership


class StaffApi(_StaffAdminAccess, APIView):
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
        tags=["staff"],
        operation_id="staff_list",
        responses={200: StaffOutputSerializer(many=True)},
        examples=[OpenApiExample("staff", value=[STAFF_EXAMPLE], response_only=True)],
    )
    def get(self, request):
        return Response(StaffOutputSerializer(staff_list(clinic=request.tenant), many=True).data)

    @extend_schema(
        tags=["staff"],
        operation_id="staff_invite",
        request=InputSerializer,
        responses={201: StaffOutputSerializer},
        examples=[
            OpenApiExample(
                "invite a clinician",
                value={"email": "ana@centro.demo", "full_name": "Ana Souza", "role": "clinician"},
                request_only=True,
            ),
            OpenApiExample("invited", value=STAFF_EXAMPLE, response_only=True),
        ],
        description=(
            "Adds a person to this clinic with a role. A new e-mail creates an account without "
            "a password (an operator sets it); a former member is reactivated."
        ),
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            membership = staff_invite(clinic=request.tenant, **serializer.validated_data)
        except DjangoValidationError as error:
            raise _validation_error(error) from error
        return Response(StaffOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class StaffRoleApi(_StaffAdminAccess, APIView):
    """Change a staff member's role (clinic admins)."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StaffRoleInput"

        role = serializers.ChoiceField(choices=ClinicRole.choices)

    @extend_schema(
        tags=["staff"],
        operation_id="staff_role_change",
        request=InputSerializer,
        responses={200: StaffOutputSerializer},
        examples=[
            OpenApiExample("make admin", value={"role": "clinic_admin"}, request_only=True),
            OpenApiExample(
                "changed", value={**STAFF_EXAMPLE, "role": "clinic_admin"}, response_only=True
            ),
        ],
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
            raise _validation_error(error) from error
        return Response(StaffOutputSerializer(membership).data)


class StaffDeactivateApi(_StaffAdminAccess, APIView):
    """Remove a staff member's access to this clinic (clinic admins)."""

    @extend_schema(
        tags=["staff"],
        operation_id="staff_deactivate",
        request=None,
        responses={200: StaffOutputSerializer},
        examples=[
            OpenApiExample(
                "deactivated", value={**STAFF_EXAMPLE, "is_active": False}, response_only=True
            )
        ],
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
            raise _validation_error(error) from error
        return Response(StaffOutputSerializer(membership).data)
