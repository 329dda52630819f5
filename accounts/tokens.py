"""The three kinds of JWT and the scope each carries.

simplejwt accepts a token on every host and its refresh copies claims without checking them, so
every token names where it works, and `accounts.authentication` checks that on every request:

- clinic (staff): ``{"scope": "clinic", "clinic": "<schema>", "role": "<role>"}``, access+refresh
- chain (managers, operators): ``{"scope": "chain", "chains": [ids], "operator": bool}``
- partner: ``{"scope": "partner", "client_id", "clinics": [schemas], "access"}``, access only
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import PartnerClient, User

SCOPE_CLINIC = "clinic"
SCOPE_CHAIN = "chain"
SCOPE_PARTNER = "partner"
USER_SCOPES = (SCOPE_CLINIC, SCOPE_CHAIN)


class BlacklistedTokenError(TokenError):
    """A refresh token that was rotated or signed out."""


class ScopedRefreshToken(RefreshToken):
    def check_blacklist(self) -> None:
        jti = self.payload[api_settings.JTI_CLAIM]
        if BlacklistedToken.objects.filter(token__jti=jti).exists():
            raise BlacklistedTokenError(_("Token is blacklisted"))


def clinic_token_issue(*, user: User, clinic, role: str) -> ScopedRefreshToken:
    """A staff refresh token (its `.access_token` too) valid only on `clinic`'s host."""
    refresh = ScopedRefreshToken.for_user(user)
    refresh["scope"] = SCOPE_CLINIC
    refresh["clinic"] = clinic.schema_name
    refresh["role"] = role
    return refresh


def chain_token_issue(*, user: User, chain_ids: list[int]) -> ScopedRefreshToken:
    """A manager's (or operator's) refresh token for the public host and their chains' clinics."""
    refresh = ScopedRefreshToken.for_user(user)
    refresh["scope"] = SCOPE_CHAIN
    refresh["chains"] = list(chain_ids)
    refresh["operator"] = bool(user.is_staff)
    return refresh


def partner_token_issue(*, client: PartnerClient, clinic_schemas: list[str]) -> AccessToken:
    """A partner's access token (no refresh): exchange the credentials again when it expires."""
    token = AccessToken()
    token.set_exp(lifetime=settings.CLINICO_PARTNER_TOKEN_LIFETIME)
    token["scope"] = SCOPE_PARTNER
    token["client_id"] = client.client_id
    token["clinics"] = list(clinic_schemas)
    token["access"] = client.scope
    return token


def token_lifetime_seconds(token) -> int:
    return max(0, int(token["exp"] - token["iat"]))
