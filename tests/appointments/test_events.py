"""Appointments reach the clinic's event stream: created, arrived, cancelled, no-show."""

import datetime

import pytest
import time_machine

from appointments.services import appointment_cancel
from events.models import Event
from tenants.services import clinic_days_close
from tests.appointments.factories import DAY, arrive, book, local, new_cpf
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


def test_every_appointment_change_is_an_event_without_cpf_or_name(clinic_a):
    with clinic_a:
        svc = f.reception()
        cpf = new_cpf()
        came = book(svc, local(9), cpf=cpf, external_id="agenda-7")
        cancelled = book(svc, local(10))
        missed = book(svc, local(11))
        ticket = arrive(svc, local(8, 50), cpf=cpf)
        with time_machine.travel(local(9, 30), tick=False):
            appointment_cancel(appointment_id=cancelled.pk, reason="Remarcou")
    with time_machine.travel(local(0, 5, day=DAY.replace(day=3)), tick=False):
        clinic_days_close(clinic=clinic_a)
    with clinic_a:
        events = list(Event.objects.filter(kind__startswith="appointment.").order_by("id"))

    kinds = [(e.kind, e.data["appointment_id"]) for e in events]
    assert kinds == [
        ("appointment.created", came.pk),
        ("appointment.created", cancelled.pk),
        ("appointment.created", missed.pk),
        ("appointment.arrived", came.pk),
        ("appointment.cancelled", cancelled.pk),
        ("appointment.no_show", missed.pk),
    ]
    arrived = events[3]
    assert arrived.ticket_id == ticket.pk and arrived.service_id == svc.pk
    assert arrived.data["display_code"] == ticket.display_code
    assert arrived.data["external_id"] == "agenda-7"
    assert datetime.datetime.fromisoformat(arrived.data["rank_at"]) == local(9)
    text = str([e.data for e in events])
    assert cpf not in text and "Paciente" not in text and "Remarcou" not in text
