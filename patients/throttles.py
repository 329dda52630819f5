"""The rate of patient look-ups per principal (staff user or partner client).

Reception may read any patient of its clinic; the limit keeps one account (or a stolen token)
from downloading the patient list by walking ids or trying CPFs. Every request that takes a CPF
counts: searches and record reads, and the writes that check a CPF in or book it. Exports and
anonymisations have a smaller limit of their own. Counts live in the sign-in limits' atomic
counters (`accounts.throttles`), shared by every clinic host and web process.
"""

import math
import time

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts.authentication import PartnerPrincipal
from accounts.throttles import (
    PartnerClientRateThrottle,
    digest,
    rate_counters_hit,
    window_seconds_left,
)

PATIENT_LOOKUPS = "patient:lookups"
PATIENT_EXPORTS = "patient:exports"


def _principal(request) -> str | None:
    """Who is counted: the partner client or the staff user; None for anonymous requests."""
    user = request.user
    if isinstance(user, PartnerPrincipal):
        return f"partner:{user.client_id}"
    if getattr(user, "pk", None) is not None:
        return f"user:{user.pk}"
    return None


class _PrincipalThrottle(BaseThrottle):
    kind = ""

    def __init__(self) -> None:
        self.seconds_left: int | None = None

    def limit(self) -> int:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        principal = _principal(request)
        if principal is None:
            return True  # anonymous requests never reach patient data (permission first)
        now = time.time()
        counter = (self.kind, digest(principal))
        count = rate_counters_hit(counters=[counter], now=now)[counter]
        if count <= self.limit():
            return True
        self.seconds_left = window_seconds_left(now)
        return False

    def wait(self) -> int | None:
        return self.seconds_left


class PatientLookupThrottle(_PrincipalThrottle):
    """`CLINICO_PATIENT_LOOKUPS_PER_MINUTE` per staff user or partner client; then 429."""

    kind = PATIENT_LOOKUPS

    def limit(self) -> int:
        return settings.CLINICO_PATIENT_LOOKUPS_PER_MINUTE


class PatientExportThrottle(_PrincipalThrottle):
    """`CLINICO_PATIENT_EXPORTS_PER_MINUTE` exports and anonymisations per staff user; then 429."""

    kind = PATIENT_EXPORTS

    def limit(self) -> int:
        return settings.CLINICO_PATIENT_EXPORTS_PER_MINUTE


def patient_lookups_throttled(wait: float | None) -> Throttled:
    """The 429 of a look-up over the limit, with the whole seconds to wait (Retry-After)."""
    seconds = max(1, math.ceil(wait or 1))
    return Throttled(
        wait=seconds,
        detail=f"Too many patient look-ups. Wait {seconds} seconds and try again.",
    )


class CpfWriteLimited(APIView):
    """A view whose writes take a CPF: they count against the principal's look-up rate."""

    def get_throttles(self):
        if self.request.method in SAFE_METHODS:
            return [PartnerClientRateThrottle()]
        return [PartnerClientRateThrottle(), PatientLookupThrottle()]

    def throttled(self, request, wait):
        if request.method in SAFE_METHODS:
            super().throttled(request, wait)
        raise patient_lookups_throttled(wait)
