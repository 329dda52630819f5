"""Reads of chains and clinics."""

import datetime
import time

from django.conf import settings

from tenants.models import Clinic, ClinicDaySummary, Domain

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
