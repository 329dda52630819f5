"""Webhook test helpers: a real local receiver, and events written to a clinic's stream."""

import datetime
import itertools

import pytest

from events.services import event_record
from queueing.models import Service
from queueing.services import workflow
from queueing.services.checkins import checkin_create, checkin_process
from tests.integrations.receiver import Receiver
from tests.queueing import factories as f

_suffixes = itertools.count(1)


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def record(kind: str, *, ticket_id: int | None = None, **data) -> int:
    """One event of the current clinic's stream, as the app that owns it would write it."""
    return event_record(kind=kind, ticket_id=ticket_id, service_id=1, desk_id=None, data=data)


CPF = "52998224725"
OTHER_CPF = "11144477735"
REGISTRATION = {"full_name": "Maria da Silva", "birth_date": datetime.date(1990, 3, 14)}


def every_kind_happens() -> list[str]:
    """Real queue work in the current clinic that streams every webhook kind; the kinds."""
    reception = f.reception()
    triage = f.service(f"Triagem {next(_suffixes)}", "T")
    desk = f.desk(f"Guichê {next(_suffixes)}", reception)
    first = f.waiting(reception)
    workflow.ticket_call_next(desk_id=desk.pk)
    workflow.ticket_recall(ticket_id=first.pk)
    workflow.ticket_start(ticket_id=first.pk)
    workflow.ticket_finish(ticket_id=first.pk)
    missed = f.waiting(reception)
    workflow.ticket_call_next(desk_id=desk.pk)
    workflow.ticket_no_show(ticket_id=missed.pk)
    workflow.ticket_cancel(ticket_id=f.waiting(reception).pk, reason="desistiu")
    workflow.ticket_transfer(ticket_id=f.waiting(reception).pk, service_id=triage.pk)
    checkin, _ = checkin_create(cpf=CPF, registration=REGISTRATION)
    checkin_process(checkin_id=checkin.pk)
    failing, _ = checkin_create(cpf=OTHER_CPF, registration=REGISTRATION, service_id=triage.pk)
    Service.objects.filter(pk=triage.pk).update(is_active=False)
    checkin_process(checkin_id=failing.pk)
    event_record(kind="appointment.arrived", data={"appointment_id": 1})
    event_record(kind="day.closed", data={"service_day": "2026-11-29"})
    return list(SUBSCRIBABLE_KINDS_SENT)


SUBSCRIBABLE_KINDS_SENT = [
    "ticket.called",
    "ticket.recalled",
    "ticket.started",
    "ticket.finished",
    "ticket.no_show",
    "ticket.cancelled",
    "ticket.transferred",
    "checkin.queued",
    "checkin.failed",
    "appointment.arrived",
    "day.closed",
]
