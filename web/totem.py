"""The self-service totem (a clinic host's /totem/): check in by CPF and print the ticket.

No staff login on a public screen: the totem proves it belongs to the clinic with the clinic's
totem key, posted once from the console's `#key=` link and kept as a signed HttpOnly cookie
(queueing/totem_access.py). That cookie checks patients in through the same service as the API
(`checkin_create`: idempotent, 202 and a status URL) and reads back the tickets of the totem's
own check-ins — code, place and estimate only. It reads no queue and no patient record.
"""

import time
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts.throttles import digest, rate_counters_hit, window_seconds_left
from common.api import django_validation_to_api
from common.net import client_address
from queueing.api.checkins import IDEMPOTENCY_HEADER, CheckInCreateApi, IdempotencyKeyConflict
from queueing.models import CheckIn, PriorityReason
from queueing.selectors.checkins import checkin_get
from queueing.selectors.queue import service_list, ticket_position_and_estimate
from queueing.services.checkins import (
    DECLARABLE_PRIORITY_REASONS,
    IdempotencyKeyReused,
    checkin_create,
)
from queueing.totem_access import (
    totem_cookie_set,
    totem_cookie_state,
    totem_key_matches,
    totem_settings_current,
)
from tenants.models import TotemNewPatients
from web.access import api_error_texts, clinic_here, clinic_of, page_language
from web.tickets import ticket_print_context

TOTEM_CHECKINS = "totem:checkins"

# Icons of the declarable priority reasons: inline SVG strokes (24×24), no image files, no CDN,
# and no emoji font needed on the totem's machine.
PRIORITY_ICONS: dict[str, str] = {
    PriorityReason.PREGNANT: '<circle cx="11" cy="4" r="2"/>'
    '<path d="M10 7c-1.5 1-2 3-2 5v3h2v6M12 7c3 1 4.6 3.6 4 6.2-.4 1.5-2 2.3-4 2.3V21"/>',
    PriorityReason.BREASTFEEDING: '<circle cx="8" cy="4" r="2"/><circle cx="15.5" cy="9" r="2"/>'
    '<path d="M8 7v7l-2 7M8 14l2 7M5 10c1 3.5 6 5 11 3"/>',
    PriorityReason.INFANT_IN_ARMS: '<circle cx="9" cy="4" r="2"/><circle cx="16" cy="8.5" r="1.7"/>'
    '<path d="M9 7v7l-2 7M9 14l2 7M6 10.5c2 2 6 3 10.5 1.5"/>',
    PriorityReason.DISABILITY: '<circle cx="10" cy="4" r="2"/>'
    '<path d="M10 7v6h5l3 6M10 10h5M7.5 11.5a5 5 0 1 0 6.5 6.5"/>',
    PriorityReason.AUTISM: '<path d="M12 12c-2-3-4-4.5-6-4.5a4.5 4.5 0 0 0 0 9c2 0 4-1.5 6-4.5'
    's4-4.5 6-4.5a4.5 4.5 0 0 1 0 9c-2 0-4-1.5-6-4.5z"/>',
    PriorityReason.OBESITY: '<circle cx="12" cy="4" r="2.2"/>'
    '<path d="M12 7.5c-4 0-6.5 3-6.5 7 0 2 1 3 2.5 3V21h8v-3.5'
    'c1.5 0 2.5-1 2.5-3 0-4-2.5-7-6.5-7z"/>',
    PriorityReason.REDUCED_MOBILITY: '<circle cx="10" cy="4" r="2"/>'
    '<path d="M10 7l-1 6 3 3v5M9 13l-2 8M10 8.5l4.5 2.5M16 11v10"/>',
    PriorityReason.BLOOD_DONOR: '<path d="M12 3c3 4.5 6 8 6 11.5a6 6 0 0 1-12 0C6 11 9 7.5 12 3z"/>'
    '<path d="M12 11v6M9 14h6"/>',
}


def _totem_refused(request: HttpRequest, reason: str, status: int = 403) -> HttpResponse:
    context = {"clinic": clinic_of(request), "reason": reason}
    return render(request, "pages/totem_error.html", context, status=status)


def _is_totem_checkin(checkin: CheckIn) -> bool:
    """Made at a totem: no staff member and no partner stands behind it."""
    return checkin.created_by_id is None and not checkin.partner_client_id


def totem_texts() -> dict:
    return {
        **api_error_texts(),
        "cpfIncomplete": _("A CPF has 11 digits."),
        "cpfInvalid": _("This CPF is not valid. Check the digits and try again."),
        "dateInvalid": _("Type the birth date as day, month and year: 8 digits."),
        "nameMissing": _("Type your full name."),
        "pending": _("Issuing your ticket…"),
        "stillPending": _(
            "Your ticket is taking longer than usual. Please wait here, or ask at reception."
        ),
        "failed": _("We could not issue your ticket. Please go to reception."),
        "minutes": _("%(n)s min"),
        "space": _("Space"),
        "busy": _("The totem is busy. Please wait a moment and try again."),
        "keyChanged": _("This totem's key was changed. A clinic admin must open the new link."),
    }


@require_http_methods(["GET", "POST"])
@never_cache  # the page carries the totem's key
@page_language
def totem(request: HttpRequest) -> HttpResponse:
    """The totem: no login; the totem key, posted once, becomes a totem cookie."""
    clinic = clinic_here(request)
    if "key" in request.GET:
        return _totem_refused(request, "key_in_url", status=400)
    if request.method == "POST":
        key = request.POST.get("key", "").strip()
        if not totem_key_matches(clinic=clinic, key=key):
            return _totem_refused(request, "invalid" if key else "missing")
        answer = HttpResponseRedirect(reverse("totem"), status=303)
        totem_cookie_set(answer, request=request, clinic=clinic)
        return answer
    cookie = totem_cookie_state(request=request, clinic=clinic)
    if cookie is None:
        # A totem that never had the key: its sign-in page, where a `#key=` link posts its key.
        # Not an error (the first open of every new totem comes here first): no 403 is logged.
        return _totem_refused(request, "missing", status=200)
    if cookie != "valid":
        return _totem_refused(request, "changed")
    current = totem_settings_current(clinic=clinic)
    services = [
        {"id": s.pk, "name": s.name, "prefix": s.prefix}
        for s in service_list().filter(is_active=True)
    ]
    reasons = [
        {"value": value, "label": str(label), "icon": mark_safe(PRIORITY_ICONS[value])}  # noqa: S308
        for value, label in PriorityReason.choices
        if value in DECLARABLE_PRIORITY_REASONS
    ]
    config = {
        "services": services,
        "register": current["totem_new_patients"] == TotemNewPatients.REGISTER,
        "checkInUrl": reverse("totem-checkin"),
        "strings": totem_texts(),
    }
    context = {"clinic": clinic, "services": services, "reasons": reasons, "totem_config": config}
    page = render(request, "pages/totem.html", context)
    totem_cookie_set(page, request=request, clinic=clinic)
    page["Cache-Control"] = "no-store"
    return page


class TotemKey(BasePermission):
    """The totem's cookie for this clinic's current key; nothing else (no staff, no partner)."""

    def has_permission(self, request, view) -> bool:
        clinic = getattr(request, "tenant", None)
        if clinic is None:
            return False
        cookie = totem_cookie_state(request=request, clinic=clinic)
        if cookie == "valid":
            return True
        if cookie == "stale":
            raise PermissionDenied(
                detail="The clinic's totem key was changed: open the new totem link from the "
                "console on this screen.",
                code="totem_key_changed",
            )
        raise PermissionDenied(
            detail="Open the totem link from the console on this screen first.",
            code="totem_key_missing",
        )


class TotemCheckInThrottle(BaseThrottle):
    """The clinic's totems together send at most CLINICO_TOTEM_CHECKINS_PER_MINUTE check-ins."""

    def __init__(self) -> None:
        self.seconds_left: int | None = None

    def allow_request(self, request, view) -> bool:
        now = time.time()
        counter = (TOTEM_CHECKINS, digest(request.tenant.schema_name))
        limit = settings.CLINICO_TOTEM_CHECKINS_PER_MINUTE
        if rate_counters_hit(counters=[counter], now=now)[counter] <= limit:
            return True
        self.seconds_left = window_seconds_left(now)
        return False

    def wait(self) -> int | None:
        return self.seconds_left


class TotemApi(APIView):
    # The totem's cookie is its only credential: no session, no token reaches these views.
    authentication_classes: list = []
    permission_classes = [TotemKey]
    throttle_classes: list = []


class TotemCheckInApi(TotemApi):
    """Check in at the totem: 202 and the status URL, as the API's check-in answers."""

    throttle_classes = [TotemCheckInThrottle]

    @extend_schema(exclude=True)
    def post(self, request):
        key = request.headers.get(IDEMPOTENCY_HEADER) or None
        if key is not None and len(key) > 128:
            raise serializers.ValidationError({"idempotency_key": "At most 128 characters."})
        serializer = CheckInCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        register = (
            totem_settings_current(clinic=request.tenant)["totem_new_patients"]
            == TotemNewPatients.REGISTER
        )
        try:
            checkin, created = checkin_create(
                cpf=data["cpf"],
                registration=data.get("patient") if register else None,
                service_id=data.get("service"),
                priority_reason=data.get("priority_reason") or "",
                idempotency_key=f"totem:{key}" if key else None,
                actor_role="totem",
                actor_address=client_address(request),
            )
        except DjangoValidationError as error:
            new_cpf = any(field.startswith("patient.") for field in error.message_dict)
            if new_cpf and not register:
                raise serializers.ValidationError(
                    {
                        "cpf": [
                            serializers.ErrorDetail(
                                "This CPF is not registered here yet: please go to reception.",
                                code="register_at_reception",
                            )
                        ]
                    }
                ) from None
            raise django_validation_to_api(error) from None
        except IdempotencyKeyReused:
            raise IdempotencyKeyConflict() from None
        status_url = reverse("totem-checkin-status", kwargs={"checkin_id": checkin.pk})
        body = {"id": str(checkin.pk), "status": checkin.status, "status_url": status_url}
        answer = Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)
        answer["Location"] = status_url
        return answer


class TotemCheckInStatusApi(TotemApi):
    """A totem check-in's state; once queued, its ticket's code, place and printable page."""

    @extend_schema(exclude=True)
    def get(self, request, checkin_id: uuid.UUID):
        checkin = checkin_get(checkin_id=checkin_id)
        if checkin is None or not _is_totem_checkin(checkin):
            raise Http404
        ticket = None
        if checkin.ticket is not None:
            position, estimate = ticket_position_and_estimate(ticket=checkin.ticket)
            ticket = {
                "display_code": checkin.ticket.display_code,
                "service": checkin.ticket.service.name,
                "position": position,
                "estimated_wait_minutes": estimate,
                "print_url": reverse("totem-ticket", kwargs={"checkin_id": checkin.pk}),
            }
        answer = Response({"id": str(checkin.pk), "status": checkin.status, "ticket": ticket})
        answer["Cache-Control"] = "no-store"
        return answer


@page_language
def totem_ticket(request: HttpRequest, checkin_id: uuid.UUID) -> HttpResponse:
    """The ticket of a totem check-in, printed as the page opens; then back to the start."""
    clinic = clinic_here(request)
    cookie = totem_cookie_state(request=request, clinic=clinic)
    if cookie != "valid":
        return _totem_refused(request, "changed" if cookie == "stale" else "missing")
    checkin = checkin_get(checkin_id=checkin_id)
    if checkin is None or checkin.ticket is None or not _is_totem_checkin(checkin):
        raise Http404
    context = ticket_print_context(request, clinic=clinic, ticket=checkin.ticket)
    context["autoprint"] = True
    answer = render(request, "pages/ticket_print.html", context)
    answer["Cache-Control"] = "no-store"
    return answer
