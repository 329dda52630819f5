"""Rate limits: failed sign-ins at every door, and each partner client's request rate.

Counts live in `RateCounter`, a public-schema table shared by every web process and every host
(an attacker gains nothing by switching clinic host or landing on another worker). A count is
one row per limit, key and fixed minute, moved by a single atomic statement, so parallel hits
are all counted, and no row of a live window is ever evicted to make room for others.

Sign-in attempts take their place in the counts *before* the password is checked, and give it
back when they succeed (or are refused unchecked): parallel guesses cannot all slip past a count
that has not been written yet. The doors run outside a transaction (Django's default, no
ATOMIC_REQUESTS), so a failure is committed even though the view answers with an error.
"""

import datetime
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import F
from rest_framework.throttling import BaseThrottle

from accounts.authentication import PartnerPrincipal
from accounts.models import RateCounter
from common.net import UNKNOWN, client_address

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# One address of an IPv6 client is one of the 2**64 of its network: limits count the network.
IPV6_LIMIT_PREFIX = 64

# Kinds of counter. Failures per address are counted over every door and kind of account.
ADDRESS_FAILURES = "signin:address"
PARTNER_REQUESTS = "partner:requests"

Counter = tuple[str, str]  # (kind, key)

_last_prune = 0.0


# --- counters ------------------------------------------------------------------------------------


def _window_start(now: float) -> datetime.datetime:
    start = math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS
    return datetime.datetime.fromtimestamp(start, tz=datetime.UTC)


def window_seconds_left(now: float) -> int:
    """Whole seconds until the current window ends (what Retry-After says), at least 1."""
    return max(1, math.ceil(WINDOW_SECONDS - now % WINDOW_SECONDS))


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _prune_if_due(now: float) -> None:
    """Deletes windows that ended a minute ago or more, at most once a minute per process."""
    global _last_prune
    if abs(now - _last_prune) < WINDOW_SECONDS:
        return
    _last_prune = now
    # The previous window is kept: web servers' clocks may be a little apart.
    cutoff = _window_start(now) - datetime.timedelta(seconds=WINDOW_SECONDS)
    RateCounter.objects.filter(window_start__lt=cutoff).delete()


def rate_counters_hit(*, counters: Sequence[Counter], now: float) -> dict[Counter, int]:
    """Adds one to each counter in the window of `now`, atomically; the new counts."""
    _prune_if_due(now)
    window = _window_start(now)
    ordered = sorted(set(counters))  # one lock order for every caller: no deadlocks
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    rows = ", ".join(["(%s, %s, %s, 1)"] * len(ordered))
    sql = (
        f"INSERT INTO {table} (kind, key, window_start, count) VALUES {rows} "  # noqa: S608
        f"ON CONFLICT (kind, key, window_start) DO UPDATE SET count = {table}.count + 1 "
        "RETURNING kind, key, count"
    )
    params = [value for kind, key in ordered for value in (kind, key, window)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(kind, key): count for kind, key, count in cursor.fetchall()}


def _rate_counter_give_back(*, counter: Counter, window: datetime.datetime) -> None:
    kind, key = counter
    RateCounter.objects.filter(kind=kind, key=key, window_start=window, count__gt=0).update(
        count=F("count") - 1
    )


# --- sign-in ---------------------------------------------------------------------------------


class SignInLimited(Exception):
    """Too many failed sign-ins: the attempt was not tried."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignInAttempt:
    kind: str
    address: str
    account_counter: Counter
    address_counter: Counter
    window: datetime.datetime
    counts: tuple[int, int]  # the two counts with this attempt in them


def limit_address(address: str) -> str:
    """What the limits count for `address`: itself, or for IPv6 its /64 network."""
    if address == UNKNOWN:
        return address
    parsed = ipaddress.ip_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_LIMIT_PREFIX}", strict=False))
    return str(parsed)


def _limits() -> tuple[int, int]:
    return settings.CLINICO_LOGIN_FAILURES_PER_ACCOUNT_IP, settings.CLINICO_LOGIN_FAILURES_PER_IP


def sign_in_attempt_start(*, kind: str, account: str, address: str) -> SignInAttempt:
    """Counts a sign-in attempt as a failure until it succeeds; SignInLimited if over a limit.

    `kind` is "user" (e-mail and password, at every door) or "partner" (client credentials);
    `address` is `common.net.client_address(request)`.
    """
    now = time.time()
    where = limit_address(address)
    account_counter = (f"signin:{kind}", digest(account.strip().lower(), where))
    address_counter = (ADDRESS_FAILURES, digest(where))
    counts = rate_counters_hit(counters=[account_counter, address_counter], now=now)
    attempt = SignInAttempt(
        kind=kind,
        address=address,
        account_counter=account_counter,
        address_counter=address_counter,
        window=_window_start(now),
        counts=(counts[account_counter], counts[address_counter]),
    )
    if all(count <= limit for count, limit in zip(attempt.counts, _limits(), strict=True)):
        return attempt
    # Not tried, so not a failure: a locked-out person retrying must not use up the failures
    # their colleagues behind the same address may still make. (Their own account+address
    # count may grow: it is over its limit until the window ends anyway.)
    _rate_counter_give_back(counter=address_counter, window=attempt.window)
    raise SignInLimited(retry_after=window_seconds_left(now))


def sign_in_attempt_fail(*, attempt: SignInAttempt) -> None:
    """A wrong password or no access here: the attempt stays counted."""
    account_full, address_full = (
        count == limit for count, limit in zip(attempt.counts, _limits(), strict=True)
    )
    if account_full or address_full:
        logger.warning(
            "Sign-in limit reached: %s from %s refused until %s UTC",
            "every attempt" if address_full else f"attempts on one {attempt.kind} account",
            attempt.address,
            f"{attempt.window + datetime.timedelta(seconds=WINDOW_SECONDS):%H:%M:%S}",
        )


def sign_in_attempt_succeed(*, attempt: SignInAttempt) -> None:
    """A good sign-in is no failure, and clears its own account+address failures."""
    _rate_counter_give_back(counter=attempt.address_counter, window=attempt.window)
    kind, key = attempt.account_counter
    RateCounter.objects.filter(kind=kind, key=key).delete()


# --- partners ----------------------------------------------------------------------------------


class PartnerClientRateThrottle(BaseThrottle):
    """Each partner client's `requests_per_minute`; other callers are not limited here."""

    def __init__(self) -> None:
        self.seconds_left: int | None = None

    def get_ident(self, request) -> str:
        return client_address(request)

    def allow_request(self, request, view) -> bool:
        user = request.user
        if not isinstance(user, PartnerPrincipal):
            return True
        now = time.time()
        counter = (PARTNER_REQUESTS, digest(user.client_id))
        if rate_counters_hit(counters=[counter], now=now)[counter] <= user.requests_per_minute:
            return True
        self.seconds_left = window_seconds_left(now)
        return False

    def wait(self) -> int | None:
        return self.seconds_left
