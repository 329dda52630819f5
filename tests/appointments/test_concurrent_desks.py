"""Desks calling at once over booked and walk-in tickets: none shared, each in rank order."""

import datetime

import pytest
import time_machine
from django.db import transaction

from appointments.models import Appointment
from queueing.models import CheckIn, Ticket
from queueing.services import checkins
from tests.appointments.factories import arrive, book, local, new_cpf
from tests.queueing import factories as f
from tests.queueing.test_call_next import _call_at_once, _queue_clean


@pytest.mark.django_db(transaction=True)
def test_two_desks_calling_at_once_share_no_ticket_and_each_calls_in_rank_order(
    clinic_a, monkeypatch
):
    # The tickets are made by processing check-ins here; no worker needs their tasks.
    monkeypatch.setattr(checkins, "checkin_publish", lambda **kwargs: True)
    with clinic_a, transaction.atomic():
        svc = f.reception()
        desks = [f.desk("Guichê 1", svc), f.desk("Guichê 2", svc)]
        tickets = []
        for i in range(20):
            at = local(8, 30) + datetime.timedelta(minutes=2 * i)  # 08:30 ... 09:08
            if i % 4 == 0:
                cpf = new_cpf()
                book(svc, local(9, i), cpf=cpf)  # 09:00 ... 09:16: ranked after earlier walk-ins
                tickets.append(arrive(svc, at, cpf=cpf))
            else:
                tickets.append(arrive(svc, at, reason="pregnant" if i % 7 == 0 else ""))
    try:
        # The desks call on the tickets' day (the clock moves on for every thread).
        with time_machine.travel(local(11), tick=True):
            called, errors = _call_at_once(clinic_a, desks)
        with clinic_a:
            order = {t.pk: (t.priority_tier, t.rank_at, t.pk) for t in Ticket.objects.all()}
            linked = Appointment.objects.filter(ticket__isnull=False).count()
    finally:
        with clinic_a:
            Appointment.objects.all().delete()
            CheckIn.objects.all().delete()
        _queue_clean(clinic_a)
    every_call = [t for calls in called.values() for t in calls]
    assert errors == []
    assert sorted(every_call) == sorted(t.pk for t in tickets)  # all 20, none twice
    assert linked == 5
    for calls in called.values():
        # Each desk's next call is the first waiting ticket: later calls never rank earlier.
        assert [order[t] for t in calls] == sorted(order[t] for t in calls)
    assert all(calls for calls in called.values())  # both desks really called
