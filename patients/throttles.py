"""The rate of patient look-ups per principal (staff user or partner client).

Reception may read any patient of its clinic; the limit keeps one account (or a stolen token)
from downloading the patient list by walking ids or trying CPFs. Counters live in the shared
"throttle" cache, whose keys are not per tenant: one principal's look-ups count together on
every clinic host and in every web process.
"""

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from accounts.authentication import PartnerPrincipal


class PatientLookupThrottle(SimpleRateThrottle):
    """`CLINICO_PATIENT_LOOKUP_RATE` (e.g. "60/min") per staff user or partner client; 429."""

    scope = "patient_lookup"

    @property
    def cache(self):
        return caches["throttle"]

    def get_rate(self) -> str:
        return settings.CLINICO_PATIENT_LOOKUP_RATE

    def get_cache_key(self, request, view) -> str | None:
        user = request.user
        if isinstance(user, PartnerPrincipal):
            return f"patient-lookup:partner:{user.client_id}"
        if getattr(user, "pk", None) is not None:
            return f"patient-lookup:user:{user.pk}"
        return None  # anonymous requests never reach patient data (permission first)
