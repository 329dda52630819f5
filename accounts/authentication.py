"""JWT authentication that checks a token's scope against the host, on every request.

Order of checks: a well-formed ``Authorization: Bearer <token>`` header; a valid signature and
an unexpired access token; a scope that covers this host (a clinic token only on its clinic, a
chain token on the public host and its chains' clinics, a partner token on the public host and
on the clinics its client has at the time of the request); a still-active membership or partner
client; and, for people, the password they had when they signed in. Any failure answers 401 with
the standard error body and a specific code. Roles are the permission classes' business.
"""

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, Token

from accounts.models import PartnerScope, User
from accounts.selectors import (
    clinic_principal_get,
    managed_chain_ids,
    manages_chain,
    partner_client_active_get,
    user_get_by_id,
)
from accounts.tokens import (
    SCOPE_CHAIN,
    SCOPE_CLINIC,
    SCOPE_PARTNER,
    BlacklistedTokenError,
    ScopedRefreshToken,
    SessionExpiredError,
    partner_secret_unchanged,
    password_unchanged,
)

ROLE_CACHE_ATTRIBUTE = "_clinico_clinic_role"  # (clinic id, role) found while authenticating


@dataclass(frozen=True)
class PartnerPrincipal:
    """`request.user` of a partner system's request."""

    client_id: str
    name: str
    access: str  # PartnerScope value: "read" or "read_write"
    # The host's clinic (schema name) when authentication found it among the client's clinics
    # just now; None on the public host. The token does not list clinics.
    clinic: str | None = None
    requests_per_minute: int = 600

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    @property
    def can_write(self) -> bool:
        return self.access == PartnerScope.READ_WRITE

    def __str__(self) -> str:
        return f"partner {self.client_id}"


def _refused(detail: str, code: str) -> AuthenticationFailed:
    return AuthenticationFailed(detail=detail, code=code)


def token_expired() -> AuthenticationFailed:
    return _refused("The token has expired: refresh it or sign in again.", "token_expired")


def token_invalid() -> AuthenticationFailed:
    return _refused(
        "The token is not valid: its signature, type or content was rejected.", "token_not_valid"
    )


def session_expired() -> AuthenticationFailed:
    return _refused(
        "This session has reached its maximum length: sign in again.", "session_expired"
    )


def token_blacklisted() -> AuthenticationFailed:
    return _refused(
        "This refresh token was already used or signed out: sign in again.", "token_blacklisted"
    )


def token_wrong_host() -> AuthenticationFailed:
    return _refused(
        "This token was not issued for this host: sign in on the clinic's own address.",
        "token_scope_mismatch",
    )


def access_token_decode(raw: str) -> AccessToken:
    """A verified access token, or 401 saying whether it expired or is invalid."""
    try:
        return AccessToken(raw)  # type: ignore[arg-type]  # simplejwt types it Token
    except ExpiredTokenError as error:
        raise token_expired() from error
    except TokenError as error:
        raise token_invalid() from error


def refresh_token_refused(error: TokenError) -> AuthenticationFailed:
    """The 401 for a refresh token that simplejwt or the session rules refused."""
    if isinstance(error, BlacklistedTokenError):
        return token_blacklisted()
    if isinstance(error, ExpiredTokenError):
        return token_expired()
    if isinstance(error, SessionExpiredError):
        return session_expired()
    return token_invalid()


def refresh_token_decode(raw: str) -> ScopedRefreshToken:
    """A verified, unused refresh token of a session still in its lifetime, or the 401 why not."""
    try:
        return ScopedRefreshToken(raw)  # type: ignore[arg-type]  # simplejwt types it Token
    except TokenError as error:
        raise refresh_token_refused(error) from error


def token_host_check(*, token: Token, tenant) -> None:
    """401 unless `token`'s scope covers the host's clinic (`tenant`; None is the public host)."""
    scope = token.get("scope")
    if scope == SCOPE_CLINIC:
        if tenant is None or tenant.schema_name != token.get("clinic"):
            raise token_wrong_host()
    elif scope == SCOPE_CHAIN:
        if tenant is not None and tenant.chain_id not in (token.get("chains") or []):
            raise token_wrong_host()
    elif scope == SCOPE_PARTNER:
        pass  # the client's clinics are checked live in token_principal
    else:
        raise token_invalid()


def refresh_token_host_check(*, token: Token, tenant) -> None:
    """Refresh tokens are used where they were issued: a clinic's host, or the public host."""
    if token.get("scope") not in (SCOPE_CLINIC, SCOPE_CHAIN):
        raise token_invalid()
    if token["scope"] == SCOPE_CHAIN and tenant is not None:
        raise token_wrong_host()
    token_host_check(token=token, tenant=tenant)


def _user_id(token: Token):
    user_id = token.get(api_settings.USER_ID_CLAIM)
    if user_id is None or not str(user_id).isdigit():
        raise token_invalid()
    return int(user_id)


def _membership_gone() -> AuthenticationFailed:
    return _refused(
        "Your access here has been removed or your account is inactive.", "membership_inactive"
    )


def _password_check(*, token: Token, user: User) -> None:
    if not password_unchanged(token=token, user=user):
        raise _refused(
            "The password of this account was changed or reset after this token was issued: "
            "sign in again.",
            "password_changed",
        )


def token_principal(*, token: Token, tenant) -> User | PartnerPrincipal:
    """Who `token` speaks for on this host, after checking scope and live memberships."""
    token_host_check(token=token, tenant=tenant)
    scope = token["scope"]
    if scope == SCOPE_CLINIC:
        found = clinic_principal_get(user_id=_user_id(token), clinic_id=tenant.pk)
        if found is None:
            raise _membership_gone()
        user, role = found
        _password_check(token=token, user=user)
        setattr(user, ROLE_CACHE_ATTRIBUTE, (tenant.pk, role))
        return user
    if scope == SCOPE_CHAIN:
        manager = user_get_by_id(user_id=_user_id(token))
        if manager is None:
            raise _membership_gone()
        if tenant is not None:
            if not manages_chain(user=manager, chain_id=tenant.chain_id):
                raise _membership_gone()
        elif not (manager.is_staff and token.get("operator")) and not managed_chain_ids(
            user=manager
        ):
            raise _membership_gone()
        _password_check(token=token, user=manager)
        return manager
    client = partner_client_active_get(client_id=str(token.get("client_id", "")))
    if client is None:
        raise _refused("This partner client has been revoked or disabled.", "partner_revoked")
    if not partner_secret_unchanged(token=token, client=client):
        raise _refused(
            "This partner client's secret was replaced after this token was issued: exchange "
            "the new secret for a token.",
            "partner_secret_changed",
        )
    if tenant is not None and not client.clinics.filter(pk=tenant.pk, is_active=True).exists():
        raise token_wrong_host()
    return PartnerPrincipal(
        client_id=client.client_id,
        name=client.name,
        access=client.scope,
        clinic=tenant.schema_name if tenant is not None else None,
        requests_per_minute=client.requests_per_minute,
    )


class ScopedJWTAuthentication(BaseAuthentication):
    """``Authorization: Bearer <access token>``, valid only where its scope says."""

    keyword = "Bearer"

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0].lower() != self.keyword.lower():
            return None  # another scheme (e.g. a proxy's Basic auth): not ours to judge
        if len(parts) != 2:
            raise _refused(
                'The Authorization header must read "Bearer <access token>".',
                "authorization_header_malformed",
            )
        token = access_token_decode(parts[1])
        principal = token_principal(token=token, tenant=getattr(request, "tenant", None))
        return principal, token


class ScopedJWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ScopedJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "An access token from `POST /api/v1/auth/token/` (staff on their clinic's host, "
                "managers on the public host) or `POST /api/v1/auth/partner-token/` (partners, "
                "public host). A token works only where its scope says: a clinic token on that "
                "clinic's host, a manager token on the public host and its chains' clinics, a "
                "partner token on its clinics. Anywhere else, and after a membership is "
                "deactivated, requests answer 401 with `token_scope_mismatch` or "
                "`membership_inactive`; after a change of the person's password, with "
                "`password_changed`. Access tokens live 10 minutes (partners: 15)."
            ),
        }
