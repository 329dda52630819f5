"""Writes of users and memberships."""

from django.db import transaction

from accounts.models import ChainMembership, ClinicMembership, ClinicRole, User


@transaction.atomic
def user_create(
    *, email: str, password: str | None, full_name: str = "", is_staff: bool = False
) -> User:
    """A new user who signs in with `email`; without a password they cannot sign in yet."""
    return User.objects.create_user(
        email, password, full_name=full_name, is_staff=is_staff, is_superuser=is_staff
    )


@transaction.atomic
def clinic_membership_grant(*, user: User, clinic, role: str) -> ClinicMembership:
    """Give `user` the `role` at `clinic`, reactivating a former membership."""
    if role not in ClinicRole.values:
        raise ValueError(f"Unknown clinic role {role!r}.")
    membership, _ = ClinicMembership.objects.update_or_create(
        user=user, clinic=clinic, defaults={"role": role, "is_active": True}
    )
    return membership


@transaction.atomic
def chain_membership_grant(*, user: User, chain) -> ChainMembership:
    """Make `user` a manager of every clinic of `chain`."""
    membership, _ = ChainMembership.objects.update_or_create(
        user=user, chain=chain, defaults={"is_active": True}
    )
    return membership
