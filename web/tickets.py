"""The printed ticket: the same printable page for the totem and for a staff reprint.

Sized for thermal paper (80 mm, or 58 mm as the clinic sets): clinic name, the code in large
type, service, time, position and estimated wait when printed, and a QR code of the patient's
status link (drawn here as inline SVG by segno) with the link itself beneath it.
"""

import zoneinfo

import segno
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from queueing.models import PriorityReason, PriorityTier, Ticket
from queueing.selectors.queue import ticket_position_and_estimate
from queueing.status_token import ticket_status_path
from queueing.totem_access import totem_settings_current
from tenants.models import Clinic
from web.access import clinic_here, staff_page


def qr_svg(text: str) -> SafeString:
    """`text` as a QR code in inline SVG, sized by the stylesheet (no width or height)."""
    code = segno.make(text, error="m")
    # segno escapes the title it writes; the rest of its SVG is paths it drew itself.
    return mark_safe(code.svg_inline(scale=1, border=2, omitsize=True, title=_("QR code")))  # noqa: S308


def ticket_print_context(request: HttpRequest, *, clinic: Clinic, ticket: Ticket) -> dict:
    """What the printed ticket shows, with the figures of this moment."""
    status_url = request.build_absolute_uri(ticket_status_path(ticket=ticket))
    position, estimate = ticket_position_and_estimate(ticket=ticket)
    local = zoneinfo.ZoneInfo(clinic.timezone)
    reason = ""
    if ticket.priority_reason:
        reason = str(PriorityReason(ticket.priority_reason).label)
    elif ticket.priority_tier != PriorityTier.NORMAL:
        reason = str(PriorityTier(ticket.priority_tier).label)
    return {
        "clinic": clinic,
        "ticket": ticket,
        "priority": reason,
        "issued_at": ticket.issued_at.astimezone(local),
        "printed_at": timezone.now().astimezone(local),
        "position": position,
        "estimated_wait_minutes": estimate,
        "status_url": status_url,
        "qr": qr_svg(status_url),
        "paper_mm": totem_settings_current(clinic=clinic)["ticket_paper_mm"],
    }


@staff_page
def ticket_reprint(request: HttpRequest, ticket_id: int, role: str) -> HttpResponse:
    """A staff reprint from the console: the same printable ticket the totem printed."""
    clinic = clinic_here(request)
    ticket = get_object_or_404(Ticket.objects.select_related("service"), pk=ticket_id)
    context = ticket_print_context(request, clinic=clinic, ticket=ticket)
    context["reprint"] = True
    answer = render(request, "pages/ticket_print.html", context)
    answer["Cache-Control"] = "no-store"
    return answer
