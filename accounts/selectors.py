"""Reads of users, memberships and partner clients."""

from functools import cache

from django.db import connection
from django.db.models import QuerySet
from django_tenants.models import TenantMixin

from accounts.models import ChainMembership, ClinicMembership, PartnerClient, User
from common.rows import columns, from_row


def clinic_role_of(*, user: User, clinic: TenantMixin) -> str | None:
    """The user's active role at `clinic`, or None."""
    return (
        ClinicMembership.objects.filter(user=user, clinic_id=clinic.pk, is_active=True)
        .values_list("role", flat=True)
        .first()
    )


@cache
def _clinic_principal_sql() -> tuple[str, tuple[str, ...]]:
    user_columns, fields = columns(User, "u")
    sql = (
        f"SELECT m.role, {user_columns} FROM {ClinicMembership._meta.db_table} m "
        f"JOIN {User._meta.db_table} u ON u.id = m.user_id "
        "WHERE m.user_id = %s AND m.clinic_id = %s AND m.is_active AND u.is_active"
    )
    return sql, fields


def clinic_principal_get(*, user_id: int, clinic_id: int) -> tuple[User, str] | None:
    """An active user with an active membership at a clinic, and the role: (user, role) or None.

    Every clinic-token request asks this, so it is one hand-written query (a fraction of the
    ORM's cost to build); the user comes back as a normal model instance.
    """
    sql, fields = _clinic_principal_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, clinic_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return from_row(User, fields, row[1:]), row[0]


def managed_chain_ids(*, user: User) -> list[int]:
    """Ids of the chains `user` manages through an active chain membership."""
    return list(
        ChainMembership.objects.filter(user=user, is_active=True)
        .order_by("chain_id")
        .values_list("chain_id", flat=True)
    )


def manages_chain(*, user: User, chain_id: int) -> bool:
    return ChainMembership.objects.filter(user=user, chain_id=chain_id, is_active=True).exists()


def user_clinic_memberships(*, user: User) -> QuerySet[ClinicMembership]:
    """The user's active clinic memberships, with their clinics, by clinic name."""
    return (
        ClinicMembership.objects.select_related("clinic")
        .filter(user=user, is_active=True)
        .order_by("clinic__name")
    )


def user_chain_memberships(*, user: User) -> QuerySet[ChainMembership]:
    return (
        ChainMembership.objects.select_related("chain")
        .filter(user=user, is_active=True)
        .order_by("chain__name")
    )


def user_get_by_id(*, user_id: int) -> User | None:
    """An active user by id, or None."""
    return User.objects.filter(pk=user_id, is_active=True).first()


def staff_list(*, clinic: TenantMixin) -> QuerySet[ClinicMembership]:
    """Everyone with a membership at `clinic` (active first), with their users."""
    return (
        ClinicMembership.objects.select_related("user")
        .filter(clinic_id=clinic.pk)
        .order_by("-is_active", "user__email")
    )


def staff_membership_get(*, clinic: TenantMixin, membership_id: int) -> ClinicMembership | None:
    """A membership of `clinic` by id; another clinic's ids are not found."""
    return (
        ClinicMembership.objects.select_related("user")
        .filter(clinic_id=clinic.pk, pk=membership_id)
        .first()
    )


def partner_client_active_get(*, client_id: str) -> PartnerClient | None:
    """An active, unrevoked partner client by its public id, or None."""
    return PartnerClient.objects.filter(
        client_id=client_id, is_active=True, revoked_at__isnull=True
    ).first()


def partner_client_clinic_schemas(*, client: PartnerClient) -> list[str]:
    """Schema names of the active clinics the partner may reach."""
    return list(
        client.clinics.filter(is_active=True)
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


def partner_client_clinics(*, client_id: str) -> list[TenantMixin]:
    """The active clinics of the partner client `client_id`, by name."""
    client = PartnerClient.objects.filter(client_id=client_id).first()
    if client is None:
        return []
    return list(client.clinics.filter(is_active=True).order_by("name"))
