"""The rate of patient look-ups per principal (staff user or partner client).

Reception may read any patient of its clinic; the limit keeps one account (or a stolen token)
from downloading the patient list by walking ids or trying CPFs. Counts live in the sign-in
limits' atomic counters (`accounts.throttles`), shared by every clinic host and web process.
"""

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from accounts.authentication import PartnerPrincipal
from accounts.throttles import digest, rate_counters_hit, window_seconds_left

PATIENT_LOOKUPS = "patient:lookups"


class PatientLookupThrottle(BaseThrottle):
    """`CLINICO_PATIENT_LOOKUPS_PER_MINUTE` per staff user or partner client; then 429."""

    def __init__(self) -> None:
        self.seconds_left: int | None = None

    def allow_request(self, request, view) -> bool:
        user = request.user
        if isinstance(user, PartnerPrincipal):
            principal = f"partner:{user.client_id}"
        elif getattr(user, "pk", None) is not None:
            principal = f"user:{user.pk}"
        else:
            return True  # anonymous requests never reach patient data (permission first)
        now = time.time()
        counter = (PATIENT_LOOKUPS, digest(principal))
        count = rate_counters_hit(counters=[counter], now=now)[counter]
        if count <= settings.CLINICO_PATIENT_LOOKUPS_PER_MINUTE:
            return True
        self.seconds_left = window_seconds_left(now)
        return False

    def wait(self) -> int | None:
        return self.seconds_left
