"""Reads of chains and clinics."""

import datetime

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import User
from common.lru import LruTtlCache
from tenants.models import Chain, Clinic, ClinicDaySummary, Domain

# Host -> clinic, kept briefly per process so a request costs no domain query in the common case.
# Known hosts and unknown ones live apart, each bounded by LRU: a flood of random subdomains
# (each one a miss, cached as unknown) only evicts other unknown hosts, never a clinic's, and an
# unknown host is remembered a few seconds only, so a clinic just opened answers soon everywhere.
HOST_CACHE_SECONDS = 10.0
UNKNOWN_HOST_CACHE_SECONDS = 3.0
HOST_CACHE_MAX_CLINICS = 20_000
HOST_CACHE_MAX_UNKNOWN = 2_000
_KNOWN_HOSTS: LruTtlCache[str, Clinic] = LruTtlCache(max_entries=HOST_CACHE_MAX_CLINICS)
_UNKNOWN_HOSTS: LruTtlCache[str, None] = LruTtlCache(max_entries=HOST_CACHE_MAX_UNKNOWN)


def clinic_for_host(*, hostname: str) -> Clinic | None:
    """The clinic served at `hostname`, or None; cached for a few seconds per process."""
    clinic = _KNOWN_HOSTS.get(hostname)
    if isinstance(clinic, Clinic):
        return clinic
    if hostname in _UNKNOWN_HOSTS:
        return None
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    if domain is None:
        _UNKNOWN_HOSTS.set(hostname, None, ttl=UNKNOWN_HOST_CACHE_SECONDS)
        return None
    _KNOWN_HOSTS.set(hostname, domain.tenant, ttl=HOST_CACHE_SECONDS)
    return domain.tenant


def clinic_host_cache_forget(*, hostname: str) -> None:
    """Drop one host from this process's cache (its clinic changed or was just opened)."""
    _KNOWN_HOSTS.discard(hostname)
    _UNKNOWN_HOSTS.discard(hostname)


def clinic_host_cache_clear() -> None:
    """Empty this process's host cache (tests; a clinic's change forgets its own host only)."""
    _KNOWN_HOSTS.clear()
    _UNKNOWN_HOSTS.clear()


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
