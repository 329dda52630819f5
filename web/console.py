"""The staff console (a clinic host's root): check-in by CPF, the live queue, the desk."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.permissions import ADMIN, RECEPTION
from queueing.models import PriorityReason, TicketStatus
from queueing.selectors.queue import desk_list, service_list
from queueing.services.checkins import DECLARABLE_PRIORITY_REASONS
from web.access import api_error_texts, clinic_here, staff_page


def console_texts() -> dict:
    """Texts the console's script shows, translated here so the script holds no language."""
    return {
        **api_error_texts(),
        "statuses": {value: str(label) for value, label in TicketStatus.choices},
        "tiers": {
            "0": _("80+"),
            "1": _("Priority"),
            "2": _("Blood donor"),
            "3": _("Normal"),
        },
        "priorityReasons": {value: str(label) for value, label in PriorityReason.choices},
        "cpfLength": _("A CPF has 11 digits."),
        "cancelLabel": _("Cancel"),
        "checkingCpf": _("Looking up the CPF…"),
        "newPatient": _("New patient: fill in the registration below and press Check in."),
        "knownPatient": _("Patient found: %(name)s. Checking in…"),
        "pending": _("Check-in received; issuing the ticket…"),
        "queued": _("Ticket issued"),
        "failed": _("The check-in failed: %(reason)s"),
        "stillPending": _(
            "The ticket is taking longer than usual. It will appear in the queue as soon as it "
            "is issued; there is no need to check in again."
        ),
        "position": _("Position"),
        "estimatedWait": _("Estimated wait"),
        "minutes": _("%(n)s min"),
        "noEstimate": _("no desk open"),
        "service": _("Service"),
        "emptyQueue": _("No one is waiting."),
        "emptyQueueForDesk": _("No one is waiting for this desk's services."),
        "noDesk": _("Choose your desk to call patients."),
        "deskIdle": _("No patient at this desk. Press “Call next”."),
        "waited": _("waited %(n)s min"),
        "calledAt": _("called at %(time)s"),
        "recalls": _("recalled %(n)s×"),
        "waitingCount": _("%(n)s waiting"),
        "cancelReason": _("Why is the ticket cancelled?"),
        "cancelled": _("Ticket %(code)s cancelled."),
        "transferred": _("Ticket %(code)s transferred: new ticket %(new)s in %(service)s."),
        "called": _("Ticket %(code)s called to %(desk)s."),
        "sessionExpired": _("Your session ended. Sign in again."),
        "updatedAt": _("Updated at %(time)s"),
        "copied": _("Link copied."),
        "rotateConfirm": _(
            "Make a new panel key? The TV stops showing calls until the new link is opened on it."
        ),
        "panelKeyRotated": _("New panel key made. Open the new link on the TV."),
    }


@staff_page
def console(request: HttpRequest, role: str) -> HttpResponse:
    """The receptionist's and the desks' screen: check-in by CPF, the live queue, the desk."""
    clinic = clinic_here(request)
    services = [
        {"id": s.pk, "name": s.name, "prefix": s.prefix}
        for s in service_list().filter(is_active=True)
    ]
    desks = [
        {"id": d.pk, "name": d.name, "services": sorted(s.pk for s in d.services.all())}
        for d in desk_list().filter(is_active=True)
    ]
    context = {
        "clinic": clinic,
        "role": role,
        "can_check_in": role in RECEPTION,
        "can_cancel": role in RECEPTION,
        "is_admin": role in ADMIN,
        "priority_reasons": [
            (value, label)
            for value, label in PriorityReason.choices
            if value in DECLARABLE_PRIORITY_REASONS
        ],
        "console_config": {
            "services": services,
            "desks": desks,
            "canCancel": role in RECEPTION,
            "strings": console_texts(),
            "language": translation.get_language(),
        },
    }
    return render(request, "pages/console.html", context)
