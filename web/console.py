"""The staff console (a clinic host's root): check-in by CPF, the live queue, the desk."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.permissions import ADMIN, RECEPTION
from appointments.models import AppointmentStatus
from queueing.models import BreakReason, PriorityReason, TicketStatus
from queueing.selectors.queue import desk_list, service_list
from queueing.services.checkins import DECLARABLE_PRIORITY_REASONS
from queueing.totem_access import totem_link, totem_settings_current
from tenants.models import TicketPaper, TotemNewPatients
from web.access import api_error_texts, clinic_here, staff_page
from web.streams import stream_url


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
        "restored": _("Ticket %(code)s restored."),
        "callChosen": _("Call this one"),
        "callReason": _("Say why this ticket is called out of order."),
        "transferred": _("Ticket %(code)s transferred: new ticket %(new)s in %(service)s."),
        "called": _("Ticket %(code)s called to %(desk)s."),
        "sessionExpired": _("Your session ended. Sign in again."),
        "updatedAt": _("Updated at %(time)s"),
        "breakReasons": {value: str(label) for value, label in BreakReason.choices},
        "onBreak": _("Closed for a break (%(reason)s) since %(time)s. End the break to call."),
        "breakStarted": _("%(desk)s is closed: %(reason)s."),
        "breakEnded": _("%(desk)s is open again."),
        "reprint": _("Reprint"),
        "reprintTitle": _("Print this ticket again"),
        "totemRotateConfirm": _(
            "Make a new totem key? The totem stops checking patients in until the new link is "
            "opened on it."
        ),
        "totemKeyRotated": _("New totem key made. Open the new link on the totem."),
        "totemSettingsSaved": _("Totem settings saved."),
        "appointments": {
            "statuses": {value: str(label) for value, label in AppointmentStatus.choices},
            "overdue": _("Overdue"),
            "none": _("No appointments today."),
            "counts": _("%(expected)s expected · %(arrived)s arrived · %(no_show)s no-show"),
            "booked": _("Appointment booked for %(time)s."),
            "cancelConfirm": _("Cancel the appointment at %(time)s?"),
            "cancelled": _("Appointment at %(time)s cancelled."),
            "ticket": _("ticket %(code)s"),
            # The patient already has a booking that day: the receptionist confirms a second.
            "bookAnyway": _("Book anyway"),
            # The check-in card's hint for a patient with a booking today.
            "bookedToday": _("Booked today at %(time)s · %(service)s"),
        },
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
        {
            "id": d.pk,
            "name": d.name,
            "services": sorted(s.pk for s in d.services.all()),
            "break_reason": d.break_reason,
            "break_started_at": d.break_started_at.isoformat() if d.break_started_at else None,
        }
        for d in desk_list().filter(is_active=True)
    ]
    totem = None
    if role in ADMIN:
        settings = totem_settings_current(clinic=clinic)
        totem = {
            "url": totem_link(request=request, key=settings["totem_key"]),
            "new_patients": settings["totem_new_patients"],
            "paper_mm": settings["ticket_paper_mm"],
            "new_patient_choices": TotemNewPatients.choices,
            "paper_choices": TicketPaper.choices,
        }
    context = {
        "clinic": clinic,
        "role": role,
        "can_check_in": role in RECEPTION,
        "can_cancel": role in RECEPTION,
        "break_reasons": BreakReason.choices,
        "totem": totem,
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
            "events": stream_url(request, "/events/console/"),
            "strings": console_texts(),
            "language": translation.get_language(),
            "timezone": clinic.timezone,
        },
    }
    return render(request, "pages/console.html", context)
