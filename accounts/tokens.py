"""The three kinds of JWT and the scope each carries.

simplejwt accepts a token on every host and its refresh copies claims without checking them, so
every token names where it works, and `accounts.authentication` checks that on every request:

- clinic (staff): ``{"scope": "clinic", "clinic": "<schema>", "role": "<role>"}``, access+refresh
- chain (managers, operators): ``{"scope": "chain", "chains": [ids], "operator": bool}``
- partner: ``{"scope": "partner", "client_id", "access", "secret"}``, access only. It names the
  client, not its clinics: those are checked live on every request, so the token keeps one small
  size whatever the number of clinics (a few hundred slugs would pass gunicorn's 8 KB header
  limit). ``secret`` is a digest of the client's secret hash: a new secret ends every token
  issued before it

Staff and manager tokens also carry the sign-in time (``auth_time``, kept through every
rotation: a session ends CLINICO_REFRESH_ABSOLUTE_LIFETIME after it, however often it is
refreshed) and a digest of the password hash (simplejwt's revoke claim: any change or reset of
the password, whichever way it is made, ends the sessions signed in before it).
"""

import datetime

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from django_tenants.models import TenantMixin
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import (
    datetime_from_epoch,
    datetime_to_epoch,
    get_md5_hash_password,
)

from accounts.models import PartnerClient, User
from accounts.selectors import clinic_role_of, managed_chain_ids

SCOPE_CLINIC = "clinic"
SCOPE_CHAIN = "chain"
SCOPE_PARTNER = "partner"
USER_SCOPES = (SCOPE_CLINIC, SCOPE_CHAIN)
AUTH_TIME_CLAIM = "auth_time"


class BlacklistedTokenError(TokenError):
    """A refresh token that was rotated or signed out."""


class SessionExpiredError(TokenError):
    """A refresh token of a session older than CLINICO_REFRESH_ABSOLUTE_LIFETIME."""


def session_end(*, auth_time: int) -> datetime.datetime:
    """When a session signed in at `auth_time` (seconds since the epoch) can no longer refresh."""
    return datetime_from_epoch(auth_time) + settings.CLINICO_REFRESH_ABSOLUTE_LIFETIME


class ScopedRefreshToken(RefreshToken):
    def verify(self) -> None:
        super().verify()
        auth_time = self.payload.get(AUTH_TIME_CLAIM)
        if not isinstance(auth_time, int) or session_end(auth_time=auth_time) <= self.current_time:
            raise SessionExpiredError(_("The session has reached its maximum length"))

    def check_blacklist(self) -> None:
        jti = self.payload[api_settings.JTI_CLAIM]
        if BlacklistedToken.objects.filter(token__jti=jti).exists():
            raise BlacklistedTokenError(_("Token is blacklisted"))


def _user_refresh_token(*, user: User, auth_time: int | None) -> ScopedRefreshToken:
    """A refresh token of the session `user` signed in to at `auth_time` (None: just now)."""
    # With the password digest (CHECK_REVOKE_TOKEN). for_user() builds `cls`; simplejwt's types
    # say RefreshToken.
    refresh: ScopedRefreshToken = ScopedRefreshToken.for_user(user)  # type: ignore[assignment]
    if auth_time is None:
        auth_time = datetime_to_epoch(refresh.current_time)
    refresh[AUTH_TIME_CLAIM] = auth_time
    # The last refresh of a session says when it ends, rather than promising a full lifetime.
    end = session_end(auth_time=auth_time)
    if end < datetime_from_epoch(refresh["exp"]):
        refresh.set_exp(from_time=end, lifetime=datetime.timedelta(0))
    return refresh


def password_unchanged(*, token, user: User) -> bool:
    """Whether `user`'s password is still the one they had when `token` was issued."""
    return token.get(api_settings.REVOKE_TOKEN_CLAIM) == get_md5_hash_password(user.password)


def clinic_token_issue(
    *, user: User, clinic, role: str, auth_time: int | None = None
) -> ScopedRefreshToken:
    """A staff refresh token (its `.access_token` too) valid only on `clinic`'s host.

    `auth_time` is the session's sign-in time when this rotates an older token.
    """
    refresh = _user_refresh_token(user=user, auth_time=auth_time)
    refresh["scope"] = SCOPE_CLINIC
    refresh["clinic"] = clinic.schema_name
    refresh["role"] = role
    return refresh


def chain_token_issue(
    *, user: User, chain_ids: list[int], auth_time: int | None = None
) -> ScopedRefreshToken:
    """A manager's (or operator's) refresh token for the public host and their chains' clinics."""
    refresh = _user_refresh_token(user=user, auth_time=auth_time)
    refresh["scope"] = SCOPE_CHAIN
    refresh["chains"] = list(chain_ids)
    refresh["operator"] = bool(user.is_staff)
    return refresh


def user_token_issue(
    *, user: User, clinic: TenantMixin | None, auth_time: int | None = None
) -> ScopedRefreshToken | None:
    """The refresh token `user` gets on this host (`clinic`; None is the public host), or None.

    A clinic's host: staff with an active membership there, for that clinic and their role. The
    public host: chain managers and platform operators, for their chains. Nobody else.
    """
    if clinic is not None:
        role = clinic_role_of(user=user, clinic=clinic)
        if not role:
            return None
        return clinic_token_issue(user=user, clinic=clinic, role=role, auth_time=auth_time)
    chain_ids = managed_chain_ids(user=user)
    if chain_ids or user.is_staff:
        return chain_token_issue(user=user, chain_ids=chain_ids, auth_time=auth_time)
    return None


PARTNER_SECRET_CLAIM = "secret"


def partner_secret_digest(*, client: PartnerClient) -> str:
    """A keyed digest of the client's stored secret hash: it changes with every new secret."""
    digest = salted_hmac("accounts.partner-secret", client.secret_hash, algorithm="sha256")
    return digest.hexdigest()[:32]


def partner_secret_unchanged(*, token, client: PartnerClient) -> bool:
    """Whether `client`'s secret is still the one `token` was issued for."""
    claim = token.get(PARTNER_SECRET_CLAIM)
    return isinstance(claim, str) and constant_time_compare(
        claim, partner_secret_digest(client=client)
    )


def partner_token_issue(*, client: PartnerClient) -> AccessToken:
    """A partner's access token (no refresh): exchange the credentials again when it expires."""
    token = AccessToken()
    token.set_exp(lifetime=settings.CLINICO_PARTNER_TOKEN_LIFETIME)
    token["scope"] = SCOPE_PARTNER
    token["client_id"] = client.client_id
    token["access"] = client.scope
    token[PARTNER_SECRET_CLAIM] = partner_secret_digest(client=client)
    return token


def token_lifetime_seconds(token) -> int:
    return max(0, int(token["exp"] - token["iat"]))
