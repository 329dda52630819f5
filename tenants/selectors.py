"""Reads of chains and clinics."""

import datetime
import time

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import User
from tenants.models import Chain, Clinic, ClinicDaySummary, Domain

# Host -> clinic, kept briefly per process so a request costs no domain query in the common case.
_HOST_CACHE: dict[str, tuple[float, Clinic | None]] = {}
HOST_CACHE_SECONDS = 10.0


def clinic_for_host(*, hostname: str) -> Clinic | None:
    """The clinic served at `hostname`, or None; cached for a few seconds per process."""
    now = time.monotonic()
    cached = _HOST_CACHE.get(hostname)
    if cached is not None and cached[0] > now:
        return cached[1]
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    clinic = domain.tenant if domain is not None else None
    if len(_HOST_CACHE) > 10_000:
        _HOST_CACHE.clear()
    _HOST_CACHE[hostname] = (now + HOST_CACHE_SECONDS, clinic)
    return clinic


def clinic_host_cache_clear() -> None:
    _HOST_CACHE.clear()


def clinic_hostname(*, clinic: Clinic) -> str:
    """The clinic's host: its slug with '-' for '_', since DNS host names have no underscore."""
    return f"{clinic.schema_name.replace('_', '-')}.{settings.BASE_DOMAIN}"


def clinic_last_closed_day(*, clinic: Clinic) -> datetime.date | None:
    """The latest service day of `clinic` the daily reset has summarised, or None."""
    return (
        ClinicDaySummary.objects.filter(clinic=clinic)
        .order_by("-service_day")
        .values_list("service_day", flat=True)
        .first()
    )


def chain_list_for_user(*, user: User) -> QuerySet[Chain]:
    """The chains `user` may manage: every chain for platform staff, else active memberships."""
    chains = Chain.objects.all()
    if user.is_staff:
        return chains
    return chains.filter(memberships__user=user, memberships__is_active=True).distinct()


def chain_get_for_user(*, user: User, chain_id: int) -> Chain | None:
    return chain_list_for_user(user=user).filter(pk=chain_id).first()


def clinic_get_for_user(*, user: User, slug: str) -> Clinic | None:
    """The clinic `slug` if `user` manages its chain (or is platform staff), else None."""
    return (
        Clinic.objects.select_related("chain")
        .filter(schema_name=slug, chain__in=chain_list_for_user(user=user))
        .first()
    )


def chain_day_summaries(
    *, chain: Chain, date_from: datetime.date, date_to: datetime.date
) -> QuerySet[ClinicDaySummary]:
    """The closed days of every clinic of `chain` between two dates (inclusive), one query."""
    return (
        ClinicDaySummary.objects.filter(
            clinic__chain=chain, service_day__gte=date_from, service_day__lte=date_to
        )
        .select_related("clinic")
        .order_by("service_day", "clinic__name")
    )
