"""Desk breaks: a desk closes for lunch, a break, a meeting … and opens again.

While on break a desk cannot call (call-next answers 409 `desk_on_break`), does not count among
the desks of the wait estimate, and shows as closed on the panel. Each break is a DeskBreak row
(reason, start, end, who); the desk row carries the open one so calling reads it for free.
Both ends go to the clinic's event stream (`desk.break_started`, `desk.break_ended`).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from events.services import event_record
from queueing.models import BreakReason, Desk, DeskBreak, Ticket, TicketStatus
from queueing.services.live_figures import live_figures_changed
from queueing.services.workflow import HELD_STATUSES, TicketActionRefused


@transaction.atomic
def desk_break_start(*, desk_id: int, reason: str, actor: User | None = None) -> Desk:
    """Close the desk for a break with a reason; refused while it holds a ticket or is on break.

    Raises Desk.DoesNotExist, ValidationError on `reason`, TicketActionRefused (409).
    """
    if reason not in BreakReason.values:
        raise ValidationError(
            {
                "reason": _("Say why the desk closes: one of %(reasons)s.")
                % {"reasons": ", ".join(BreakReason.values)}
            }
        )
    desk = Desk.objects.select_for_update().get(pk=desk_id)
    if desk.on_break:
        raise TicketActionRefused(
            code="desk_on_break",
            detail=_("Desk %(desk)s is already on a break (%(reason)s).")
            % {"desk": desk.name, "reason": BreakReason(desk.break_reason).label},
        )
    held = (
        Ticket.objects.filter(desk_id=desk.pk, status__in=HELD_STATUSES)
        .order_by("-called_at")
        .first()
    )
    if held is not None:
        raise TicketActionRefused(
            code="desk_busy",
            detail=_(
                "Desk %(desk)s still holds ticket %(code)s (%(status)s); finish it, mark it as a "
                "no-show or return it to the queue before the break."
            )
            % {
                "desk": desk.name,
                "code": held.display_code,
                "status": TicketStatus(held.status).label,
            },
            current_status=held.status,
            ticket=held,
        )
    now = timezone.now()
    DeskBreak.objects.create(desk=desk, reason=reason, started_at=now, started_by=actor)
    desk.break_reason = reason
    desk.break_started_at = now
    desk.save(update_fields=["break_reason", "break_started_at"])
    event_record(kind="desk.break_started", at=now, desk_id=desk.pk, data={"reason": reason})
    live_figures_changed()
    return desk


@transaction.atomic
def desk_break_end(*, desk_id: int, actor: User | None = None) -> Desk:
    """Open the desk again after its break. Raises TicketActionRefused (409) when not on break."""
    desk = Desk.objects.select_for_update().get(pk=desk_id)
    if not desk.on_break:
        raise TicketActionRefused(
            code="desk_not_on_break",
            detail=_("Desk %(desk)s is not on a break.") % {"desk": desk.name},
        )
    now = timezone.now()
    DeskBreak.objects.filter(desk=desk, ended_at__isnull=True).update(ended_at=now, ended_by=actor)
    seconds = (now - desk.break_started_at).total_seconds() if desk.break_started_at else 0.0
    event_record(
        kind="desk.break_ended",
        at=now,
        desk_id=desk.pk,
        data={"reason": desk.break_reason, "seconds": round(seconds, 1)},
    )
    desk.break_reason = ""
    desk.break_started_at = None
    desk.save(update_fields=["break_reason", "break_started_at"])
    live_figures_changed()
    return desk
