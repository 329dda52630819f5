"""Rate limits: failed sign-ins (per account and IP, per IP) and each partner client's rate.

Counters live in the "throttle" cache, whose keys are not prefixed per tenant: an attacker
trying one account on several clinic hosts hits the same counters. That cache is shared by every
web process (a PostgreSQL table by default, CLINICO_THROTTLE_CACHE_URL to use another), so an
attacker gains nothing by landing on different workers.
"""

import math
import time

from django.conf import settings
from django.core.cache import caches
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from accounts.authentication import PartnerPrincipal

WINDOW_SECONDS = 60


def _cache():
    return caches["throttle"]


def client_ip(request) -> str:
    """The caller's address (DRF's rule: REMOTE_ADDR, or X-Forwarded-For behind NUM_PROXIES)."""
    return BaseThrottle().get_ident(request) or "unknown"


def _recent(key: str, now: float) -> list[float]:
    return [moment for moment in _cache().get(key, []) if moment > now - WINDOW_SECONDS]


def _wait(key: str, limit: int, now: float) -> float | None:
    """Seconds until `key` is below `limit` failures in the window, or None if it already is."""
    recent = _recent(key, now)
    if len(recent) < limit:
        return None
    return recent[-limit] + WINDOW_SECONDS - now


def _keys(kind: str, account: str, ip: str) -> list[tuple[str, int]]:
    return [
        (
            f"fail:{kind}:acct-ip:{account.lower()}:{ip}",
            settings.CLINICO_LOGIN_FAILURES_PER_ACCOUNT_IP,
        ),
        (f"fail:{kind}:ip:{ip}", settings.CLINICO_LOGIN_FAILURES_PER_IP),
    ]


def login_throttle_check(*, kind: str, account: str, ip: str) -> None:
    """429 with Retry-After when this account (from this IP) or this IP failed too often."""
    now = time.time()
    waits = [_wait(key, limit, now) for key, limit in _keys(kind, account, ip)]
    longest = max((w for w in waits if w is not None), default=None)
    if longest is not None:
        raise Throttled(
            wait=math.ceil(longest),
            detail="Too many failed sign-in attempts. Wait before trying again.",
        )


def login_failure_record(*, kind: str, account: str, ip: str) -> None:
    now = time.time()
    for key, _limit in _keys(kind, account, ip):
        _cache().set(key, [*_recent(key, now), now], WINDOW_SECONDS)


def login_success_record(*, kind: str, account: str, ip: str) -> None:
    """A good sign-in clears its own account+IP failures (not the IP's count)."""
    _cache().delete(_keys(kind, account, ip)[0][0])


class PartnerClientRateThrottle(SimpleRateThrottle):
    """Each partner client's `requests_per_minute`; other callers are not limited here."""

    scope = "partner"

    def __init__(self) -> None:  # the rate comes from the client, not from settings
        self.rate = None

    @property
    def cache(self):
        return _cache()

    def allow_request(self, request, view) -> bool:
        user = request.user
        if not isinstance(user, PartnerPrincipal):
            return True
        self.rate = f"{user.requests_per_minute}/m"
        self.num_requests, self.duration = user.requests_per_minute, WINDOW_SECONDS
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return f"partner-rate:{request.user.client_id}"
