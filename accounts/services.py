"""Writes of users, memberships, partner clients and sessions (refresh token rotation)."""

import logging
import secrets
from collections.abc import Iterable
from typing import cast

from amqp.exceptions import AMQPError
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.models import TenantMixin
from kombu.exceptions import OperationalError as KombuOperationalError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.authentication import (
    refresh_token_decode,
    refresh_token_host_check,
    refresh_token_refused,
    token_blacklisted,
    token_invalid,
    token_principal,
)
from accounts.models import (
    ChainMembership,
    ClinicMembership,
    ClinicRole,
    PartnerClient,
    PartnerScope,
    User,
)
from accounts.passwords import password_link_user
from accounts.tokens import (
    AUTH_TIME_CLAIM,
    BlacklistedTokenError,
    ScopedRefreshToken,
    user_token_issue,
)

logger = logging.getLogger(__name__)


@transaction.atomic
def user_create(
    *, email: str, password: str | None, full_name: str = "", is_staff: bool = False
) -> User:
    """A new user who signs in with `email`; without a password they cannot sign in yet."""
    return User.objects.create_user(
        email, password, full_name=full_name, is_staff=is_staff, is_superuser=is_staff
    )


@transaction.atomic
def user_password_set(*, user: User, password: str, field: str = "password") -> User:
    """Give `user` a new password (Django's validators first).

    Every session and token signed in before ends: tokens carry a digest of the password hash
    (CHECK_REVOKE_TOKEN) and sessions its HMAC, both checked on every request.
    """
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from error
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def account_email_publish(
    *, user: User, template: str, origin: str, clinic: TenantMixin | None = None
) -> None:
    """Send an account e-mail by a Celery task once the transaction commits.

    `origin` is the scheme and host the link starts with (`https://centro.clinico.example`);
    the task gets ids only. A broker outage is logged, not raised: the change stands, and the
    e-mail can be asked for again (resend the invitation, "forgot my password").
    """
    # The task module imports accounts.mail, which this module must not import back at load.
    from accounts.tasks import account_email_send_task

    kwargs = {
        "user_id": user.pk,
        "template": template,
        "origin": origin,
        "clinic_id": clinic.pk if clinic is not None else None,
    }

    def publish() -> None:
        try:
            account_email_send_task.apply_async(kwargs=kwargs)
        except (KombuOperationalError, AMQPError, OSError) as error:
            logger.error(
                "Account e-mail %s for user %s not queued: broker unreachable (%s).",
                template,
                user.pk,
                type(error).__name__,
            )

    transaction.on_commit(publish)


@transaction.atomic
def user_password_change(*, user: User, current_password: str, new_password: str) -> User:
    """A signed-in person's new password; the current one must be given."""
    if not user.check_password(current_password):
        raise ValidationError({"current_password": _("The current password is wrong.")})
    return user_password_set(user=user, password=new_password, field="new_password")


@transaction.atomic
def password_reset_request(*, email: str, origin: str) -> None:
    """E-mail a password link to the active account with this e-mail, if there is one.

    Answers the same either way: the caller must not learn whether an e-mail has an account.
    """
    normalized = User.objects.normalize_email(email or "").strip().lower()
    user = User.objects.filter(email=normalized, is_active=True).first()
    if user is None:
        logger.info("Password link asked for an e-mail without an active account.")
        return
    account_email_publish(user=user, template="password_reset", origin=origin)


@transaction.atomic
def password_reset_confirm(*, uidb64: str, token: str, password: str) -> User:
    """Set the password of a password link's user; the link then stops working."""
    user = password_link_user(uidb64=uidb64, token=token)
    if user is None:
        raise ValidationError(
            {
                "token": _(
                    "This link is invalid or expired, or was already used. Ask for a new "
                    "one with “Forgot my password”."
                )
            }
        )
    return user_password_set(user=user, password=password)


@transaction.atomic
def clinic_membership_grant(*, user: User, clinic: TenantMixin, role: str) -> ClinicMembership:
    """Give `user` the `role` at `clinic`, reactivating a former membership."""
    if role not in ClinicRole.values:
        raise ValueError(f"Unknown clinic role {role!r}.")
    membership, _ = ClinicMembership.objects.update_or_create(
        user=user, clinic=clinic, defaults={"role": role, "is_active": True}
    )
    return membership


@transaction.atomic
def chain_membership_grant(*, user: User, chain: Model) -> ChainMembership:
    """Make `user` a manager of every clinic of `chain`."""
    membership, _ = ChainMembership.objects.update_or_create(
        user=user, chain=chain, defaults={"is_active": True}
    )
    return membership


def _active_admins_left_without(*, membership: ClinicMembership) -> bool:
    """Whether `membership` is its clinic's last active clinic admin."""
    if not (membership.is_active and membership.role == ClinicRole.CLINIC_ADMIN):
        return False
    others = ClinicMembership.objects.filter(
        clinic_id=membership.clinic_id, role=ClinicRole.CLINIC_ADMIN, is_active=True
    ).exclude(pk=membership.pk)
    return not others.exists()


@transaction.atomic
def staff_invite(
    *, clinic: TenantMixin, email: str, role: str, full_name: str = "", origin: str | None = None
) -> ClinicMembership:
    """Add someone to `clinic` with `role`: a new user without a password, or an existing one.

    With `origin` (the scheme and host links start with) they get an e-mail: a one-time link
    to choose their password, or word that they can sign in with the one they have.
    """
    normalized = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email=normalized).first()
    if user is None:
        user = user_create(email=normalized, password=None, full_name=full_name)
    membership = ClinicMembership.objects.filter(user=user, clinic_id=clinic.pk).first()
    if membership is not None and membership.is_active:
        raise ValidationError(
            {
                "email": _("%(email)s is already a member of this clinic; change their role.")
                % {"email": normalized}
            }
        )
    membership = clinic_membership_grant(user=user, clinic=clinic, role=role)
    # The clinic knows the person by the name its admin typed, never by another clinic's.
    if full_name.strip() or not membership.full_name:
        membership.full_name = full_name.strip()
        membership.save(update_fields=["full_name", "updated_at"])
    if origin is not None:
        staff_invitation_send(membership=membership, origin=origin)
    return membership


def clinic_membership_joined(*, user: User, clinic: TenantMixin) -> None:
    """Record the person's first sign-in at `clinic`: their invitation there is accepted."""
    ClinicMembership.objects.filter(
        user_id=user.pk, clinic_id=clinic.pk, joined_at__isnull=True
    ).update(joined_at=timezone.now())


def staff_invitation_send(*, membership: ClinicMembership, origin: str) -> None:
    """E-mail the invitation of an active member (again): a password link, or a sign-in note."""
    if not membership.is_active:
        raise ValidationError(
            {"non_field_errors": [_("This person's access was removed; invite them again.")]}
        )
    user = membership.user
    template = "access_granted" if user.has_usable_password() else "invitation"
    account_email_publish(user=user, template=template, origin=origin, clinic=membership.clinic)


@transaction.atomic
def clinic_membership_role_change(*, membership: ClinicMembership, role: str) -> ClinicMembership:
    """Give a member another role; the clinic always keeps one active clinic admin."""
    if role not in ClinicRole.values:
        raise ValidationError({"role": _("Unknown role %(role)r.") % {"role": role}})
    membership = ClinicMembership.objects.select_for_update().get(pk=membership.pk)
    if role != ClinicRole.CLINIC_ADMIN and _active_admins_left_without(membership=membership):
        raise ValidationError(
            {"role": _("This is the clinic's last clinic admin; make someone else admin first.")}
        )
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role", "updated_at"])
    return membership


@transaction.atomic
def clinic_membership_deactivate(*, membership: ClinicMembership) -> ClinicMembership:
    """Remove a member's access to the clinic; their tokens stop working on the next request."""
    membership = ClinicMembership.objects.select_for_update().get(pk=membership.pk)
    if _active_admins_left_without(membership=membership):
        raise ValidationError(
            {"non_field_errors": [_("The clinic's last clinic admin cannot be deactivated.")]}
        )
    membership.is_active = False
    membership.save(update_fields=["is_active", "updated_at"])
    return membership


@transaction.atomic
def chain_membership_deactivate(*, membership: ChainMembership) -> ChainMembership:
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    return membership


def partner_secret_new() -> tuple[str, str]:
    """A new partner secret and its hash (Django's password hasher); only the hash is stored."""
    secret = secrets.token_urlsafe(32)
    return secret, make_password(secret)


def partner_client_id_new() -> str:
    return f"pc_{secrets.token_hex(12)}"


@transaction.atomic
def partner_client_create(
    *,
    name: str,
    clinics: Iterable,
    scope: str = PartnerScope.READ,
    requests_per_minute: int = 600,
    client_id: str | None = None,
    secret: str | None = None,
) -> tuple[PartnerClient, str]:
    """A partner client for `clinics`; returns it with its secret, which is never shown again."""
    if secret is None:
        secret, secret_hash = partner_secret_new()
    else:
        secret_hash = make_password(secret)
    client = PartnerClient(
        name=name,
        client_id=client_id or partner_client_id_new(),
        secret_hash=secret_hash,
        scope=scope,
        requests_per_minute=requests_per_minute,
    )
    client.full_clean()
    client.save()
    client.clinics.set(list(clinics))
    return client, secret


@transaction.atomic
def partner_client_secret_rotate(*, client: PartnerClient) -> str:
    """A new secret for `client`; the old one stops working at once."""
    secret, client.secret_hash = partner_secret_new()
    client.save(update_fields=["secret_hash"])
    return secret


@transaction.atomic
def partner_client_revoke(*, client: PartnerClient) -> PartnerClient:
    """Revoke a partner: its tokens are refused from the next request on."""
    client.is_active = False
    client.revoked_at = client.revoked_at or timezone.now()
    client.save(update_fields=["is_active", "revoked_at"])
    return client


def partner_client_authenticate(*, client_id: str, secret: str) -> PartnerClient | None:
    """The active partner client with these credentials, or None."""
    client = PartnerClient.objects.filter(
        client_id=client_id, is_active=True, revoked_at__isnull=True
    ).first()
    if client is None:
        make_password(secret)  # same work as a real check, so timing does not reveal ids
        return None
    return client if check_password(secret, client.secret_hash) else None


def refresh_token_rotate(*, raw: str, clinic: TenantMixin | None) -> ScopedRefreshToken:
    """A new refresh token in place of `raw`, which stops working; 401 unless `raw` is good here.

    `raw` is checked as strictly as an access token (this host, live membership, password), and
    the new token's scope comes from live memberships; the session keeps its sign-in time.
    """
    old = refresh_token_decode(raw)
    refresh_token_host_check(token=old, tenant=clinic)
    user = token_principal(token=old, tenant=clinic)
    if not isinstance(user, User):
        raise token_invalid()
    with transaction.atomic():
        # simplejwt annotates the row, but blacklist() answers get_or_create's (row, created).
        _row, created = cast("tuple[BlacklistedToken, bool]", old.blacklist())
        if not created:  # a concurrent refresh of the same token won
            raise token_blacklisted()
        refresh = user_token_issue(user=user, clinic=clinic, auth_time=old[AUTH_TIME_CLAIM])
    # Access lost since sign-in: `raw` stays spent.
    if refresh is None:
        raise token_invalid()
    return refresh


def refresh_token_revoke(*, raw: str, clinic: TenantMixin | None) -> None:
    """Sign out: `raw` can no longer be refreshed. Signing out twice is harmless."""
    try:
        token = ScopedRefreshToken(raw)  # type: ignore[arg-type]  # simplejwt types it Token
    except BlacklistedTokenError:
        return
    except TokenError as error:
        raise refresh_token_refused(error) from error
    refresh_token_host_check(token=token, tenant=clinic)
    token.blacklist()
