"""Reads of chains and clinics."""

import datetime
import json
import threading
import zoneinfo
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from tenants.models import Chain, Clinic, ClinicDaySummary, ClinicLiveFigures, Domain

CHAIN_PAGE_SIZE = 25
MAX_CHAIN_PAGE_SIZE = 200

# Host -> clinic, kept briefly per process so a request costs no domain query in the common case.
# Known hosts and unknown ones live apart, each bounded by LRU: a flood of random subdomains
# (each one a miss, cached as unknown) only evicts other unknown hosts, never a clinic's, and an
# unknown host is remembered a few seconds only, so a clinic just opened answers soon everywhere.
HOST_CACHE_SECONDS = 10.0
UNKNOWN_HOST_CACHE_SECONDS = 3.0
HOST_CACHE_MAX_CLINICS = 20_000
HOST_CACHE_MAX_UNKNOWN = 2_000
# cachetools' caches are not thread-safe; web processes serve requests on several threads.
_HOSTS_LOCK = threading.Lock()
_KNOWN_HOSTS: TTLCache[str, Clinic] = TTLCache(
    maxsize=HOST_CACHE_MAX_CLINICS, ttl=HOST_CACHE_SECONDS
)
_UNKNOWN_HOSTS: TTLCache[str, bool] = TTLCache(
    maxsize=HOST_CACHE_MAX_UNKNOWN, ttl=UNKNOWN_HOST_CACHE_SECONDS
)


def clinic_for_host(*, hostname: str) -> Clinic | None:
    """The clinic served at `hostname`, or None; cached for a few seconds per process."""
    with _HOSTS_LOCK:
        clinic = _KNOWN_HOSTS.get(hostname)
        unknown = hostname in _UNKNOWN_HOSTS
    if clinic is not None:
        return clinic
    if unknown:
        return None
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    with _HOSTS_LOCK:
        if domain is None:
            _UNKNOWN_HOSTS[hostname] = True
            return None
        _KNOWN_HOSTS[hostname] = domain.tenant
    return domain.tenant


def clinic_host_cache_forget(*, hostname: str) -> None:
    """Drop one host from this process's cache (its clinic changed or was just opened)."""
    with _HOSTS_LOCK:
        _KNOWN_HOSTS.pop(hostname, None)
        _UNKNOWN_HOSTS.pop(hostname, None)


def clinic_host_cache_clear() -> None:
    """Empty this process's host cache (tests; a clinic's change forgets its own host only)."""
    with _HOSTS_LOCK:
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


LIVE_KEYS = (
    "tickets",
    "waiting",
    "at_desks",
    "served",
    "no_shows",
    "cancelled",
    "called",
    "wait_avg_s",
    "wait_p90_s",
    "service_avg_s",
    "within_target_share",
    "desks_open",
    "desks_on_break",
    "break_s",
)
_NO_TICKETS_YET: dict[str, Any] = {
    key: None if key.endswith(("_s", "_share")) and key != "break_s" else 0 for key in LIVE_KEYS
}


def clinic_local_today(*, clinic: Clinic, now: datetime.datetime | None = None) -> datetime.date:
    return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(clinic.timezone)).date()


def clinic_live_values(*, clinic: Clinic, now: datetime.datetime | None = None) -> dict | None:
    """Today's figures of `clinic` from its public row (without the hours); a row of an earlier
    day reads as zeros.

    None for an inactive clinic, or one whose figures were never read yet.
    """
    if not clinic.is_active:
        return None
    live: ClinicLiveFigures | None = getattr(clinic, "live_figures", None)
    today = clinic_local_today(clinic=clinic, now=now)
    if live is None:
        return None
    values = {key: getattr(live, key) for key in LIVE_KEYS}
    if live.service_day != today:
        values = {**_NO_TICKETS_YET, "desks_open": live.desks_open}
    return {
        "service_day": today,
        **values,
        "refreshed_at": live.refreshed_at,
    }


@dataclass(frozen=True)
class ClinicPage:
    """One page of a chain's clinics, by name, with their live figures (select_related)."""

    clinics: list[Clinic]
    count: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.page_size))


def chain_clinics_page(
    *, chain: Chain, page: int = 1, page_size: int = CHAIN_PAGE_SIZE
) -> ClinicPage:
    """A page of the chain's clinics with their live figures: two public queries, any size."""
    clinics = Clinic.objects.filter(chain=chain)
    count = clinics.count()
    start = (page - 1) * page_size
    # The hours stay behind: only the chain's totals chart them.
    rows = list(
        clinics.select_related("live_figures")
        .defer("live_figures__hours")
        .order_by("name", "id")[start : start + page_size]
    )
    return ClinicPage(clinics=rows, count=count, page=page, page_size=page_size)


_CHAIN_TOTALS_SQL = f"""
WITH today AS (
    SELECT l.*
    FROM public.{Clinic._meta.db_table} c
    JOIN public.{ClinicLiveFigures._meta.db_table} l ON l.clinic_id = c.id
    WHERE c.chain_id = %(chain)s AND c.is_active
      AND l.service_day = (%(now)s::timestamptz AT TIME ZONE c.timezone)::date
)
SELECT
    (SELECT count(*) FROM public.{Clinic._meta.db_table} c
     WHERE c.chain_id = %(chain)s AND c.is_active) AS clinics,
    coalesce(sum(tickets), 0) AS tickets,
    coalesce(sum(waiting), 0) AS waiting,
    coalesce(sum(at_desks), 0) AS at_desks,
    coalesce(sum(served), 0) AS served,
    coalesce(sum(no_shows), 0) AS no_shows,
    coalesce(sum(called), 0) AS called,
    sum(wait_avg_s * called) / nullif(sum(called) FILTER (WHERE wait_avg_s IS NOT NULL), 0)
        AS wait_avg_s,
    coalesce(sum(break_s), 0) AS break_s,
    coalesce(sum(desks_on_break), 0) AS desks_on_break,
    (SELECT coalesce(json_agg(h ORDER BY h.hour), '[]')
     FROM (SELECT (e->>'hour')::int AS hour,
                  sum((e->>'arrivals')::int) AS arrivals,
                  sum((e->>'calls')::int) AS calls
           FROM today t, jsonb_array_elements(t.hours) e
           GROUP BY 1) h) AS hours
FROM today
"""


def chain_live_totals(*, chain: Chain, now: datetime.datetime | None = None) -> dict[str, Any]:
    """The chain's figures today across all its active clinics, with arrivals and calls per
    local hour: one public query, however many clinics."""
    with connection.cursor() as cursor:
        cursor.execute(_CHAIN_TOTALS_SQL, {"chain": chain.pk, "now": now or timezone.now()})
        names = [column.name for column in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
    hours = row.pop("hours")
    if isinstance(hours, str):
        hours = json.loads(hours)
    wait = row["wait_avg_s"]
    return {
        **{key: int(value) for key, value in row.items() if key not in ("wait_avg_s", "break_s")},
        "wait_avg_s": round(float(wait), 1) if wait is not None else None,
        "break_s": round(float(row["break_s"]), 1),
        "hours": [
            {"hour": h["hour"], "arrivals": int(h["arrivals"]), "calls": int(h["calls"])}
            for h in hours
        ],
    }
