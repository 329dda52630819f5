"""A booked patient's check-in joins the queue at the booked time (docs/queue.md, Appointments).

Service "Recepção" of clinic_a keeps the defaults: 30 minutes' early window, 15 minutes' late
tolerance. Booking at 09:00.
"""

import datetime

import pytest
import time_machine

from appointments.models import AppointmentStatus
from appointments.services import appointment_cancel, appointment_place_for
from queueing.models import TicketEvent
from queueing.services.workflow import ticket_call_next
from tests.appointments.factories import arrive, book, local, new_cpf
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


def _calls(desk, count: int) -> list[int]:
    """The ids of the next `count` tickets the desk calls (each finished off as a no-show)."""
    from queueing.services.workflow import ticket_no_show

    called = []
    with time_machine.travel(local(11), tick=False):
        for _ in range(count):
            ticket = ticket_call_next(desk_id=desk.pk)
            assert ticket is not None
            called.append(ticket.pk)
            ticket_no_show(ticket_id=ticket.pk)
    return called


def test_arriving_within_the_window_joins_at_the_booked_time_between_walk_ins(clinic_a):
    with clinic_a:
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        cpf = new_cpf()
        appointment = book(svc, local(9), cpf=cpf)
        walk_in_0840 = arrive(svc, local(8, 40))
        booked = arrive(svc, local(8, 45), cpf=cpf)  # 15 minutes early: within the window
        walk_in_0850 = arrive(svc, local(8, 50))
        walk_in_0905 = arrive(svc, local(9, 5))
        order = _calls(desk, 4)
        appointment.refresh_from_db()
    assert booked.rank_at == local(9) and booked.arrived_at == local(8, 45)
    assert order == [walk_in_0840.pk, walk_in_0850.pk, booked.pk, walk_in_0905.pk]
    assert (appointment.status, appointment.ticket_id) == (AppointmentStatus.ARRIVED, booked.pk)
    assert appointment.arrived_at == local(8, 45)


def test_arriving_on_the_minute_and_late_within_tolerance_keep_the_booked_time(clinic_a):
    with clinic_a:
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        on_time_cpf, late_cpf = new_cpf(), new_cpf()
        book(svc, local(9), cpf=on_time_cpf)
        book(svc, local(9, 10), cpf=late_cpf)
        walk_in = arrive(svc, local(9, 5))
        on_time = arrive(svc, local(9), cpf=on_time_cpf)
        late_but_tolerated = arrive(svc, local(9, 24), cpf=late_cpf)  # 14 min after 09:10
        walk_in_later = arrive(svc, local(9, 12))
        order = _calls(desk, 4)
    assert late_but_tolerated.rank_at == local(9, 10)
    assert order == [on_time.pk, walk_in.pk, late_but_tolerated.pk, walk_in_later.pk]


def test_arriving_before_the_window_queues_by_arrival_as_a_walk_in(clinic_a):
    with clinic_a:
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        cpf = new_cpf()
        appointment = book(svc, local(10), cpf=cpf)
        walk_in = arrive(svc, local(8, 20))
        very_early = arrive(svc, local(8, 10), cpf=cpf)  # 110 minutes early
        order = _calls(desk, 2)
        appointment.refresh_from_db()
    assert very_early.rank_at == very_early.arrived_at == local(8, 10)
    assert order == [very_early.pk, walk_in.pk]
    assert (appointment.status, appointment.ticket_id) == (AppointmentStatus.ARRIVED, very_early.pk)


def test_arriving_after_the_tolerance_is_a_walk_in_and_the_appointment_reads_late(clinic_a):
    with clinic_a:
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        cpf = new_cpf()
        appointment = book(svc, local(9), cpf=cpf)
        walk_in = arrive(svc, local(9, 18))
        late = arrive(svc, local(9, 20), cpf=cpf)  # 20 minutes late: beyond the 15 tolerated
        order = _calls(desk, 2)
        appointment.refresh_from_db()
    assert late.rank_at == late.arrived_at == local(9, 20)
    assert order == [walk_in.pk, late.pk]
    assert (appointment.status, appointment.ticket_id) == (AppointmentStatus.LATE, late.pk)


def test_legal_priority_comes_before_a_booked_time(clinic_a):
    with clinic_a:
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        cpf, elderly_cpf = new_cpf(), new_cpf()
        book(svc, local(9), cpf=cpf)
        book(svc, local(9, 30), cpf=elderly_cpf, birth_date="1940-01-01")
        booked = arrive(svc, local(8, 50), cpf=cpf)
        pregnant_walk_in = arrive(svc, local(9, 20), reason="pregnant")
        elderly_booked = arrive(svc, local(9, 15), cpf=elderly_cpf, birth_date="1940-01-01")
        order = _calls(desk, 3)
    # 80+ first (ranked at its 09:30 booking within tier 0), then priority, then the booking.
    assert elderly_booked.priority_tier == 0 and elderly_booked.rank_at == local(9, 30)
    assert order == [elderly_booked.pk, pregnant_walk_in.pk, booked.pk]


def test_a_cancelled_appointment_gives_no_place_and_stays_cancelled(clinic_a):
    with clinic_a:
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        cpf = new_cpf()
        appointment = book(svc, local(9), cpf=cpf)
        with time_machine.travel(local(8), tick=False):
            appointment_cancel(appointment_id=appointment.pk, reason="Remarcou")
        came_anyway = arrive(svc, local(8, 50), cpf=cpf)
        walk_in = arrive(svc, local(8, 55))
        order = _calls(desk, 2)
        appointment.refresh_from_db()
    assert came_anyway.rank_at == local(8, 50)
    assert order == [came_anyway.pk, walk_in.pk]
    assert (appointment.status, appointment.ticket_id) == (AppointmentStatus.CANCELLED, None)


def test_a_booking_in_another_service_does_not_rank_the_check_in(clinic_a):
    with clinic_a:
        reception, consult = f.reception(), f.service("Consulta", "C")
        cpf = new_cpf()
        appointment = book(consult, local(9), cpf=cpf)
        ticket = arrive(reception, local(8, 45), cpf=cpf)
        appointment.refresh_from_db()
    assert ticket.rank_at == ticket.arrived_at
    assert appointment.status == AppointmentStatus.EXPECTED


def test_the_issued_event_records_the_booked_rank(clinic_a):
    with clinic_a:
        svc = f.reception()
        cpf = new_cpf()
        book(svc, local(9), cpf=cpf)
        ticket = arrive(svc, local(8, 45), cpf=cpf)
        issued = TicketEvent.objects.get(ticket_id=ticket.pk, kind="issued")
    assert datetime.datetime.fromisoformat(issued.detail["rank_at"]) == local(9)


def test_a_service_s_own_window_and_tolerance_apply(clinic_a):
    with clinic_a:
        svc = f.service("Consulta", "C", appointment_early_minutes=60, appointment_late_minutes=0)
        early_cpf, late_cpf = new_cpf(), new_cpf()
        book(svc, local(9), cpf=early_cpf)
        book(svc, local(10), cpf=late_cpf)
        early = arrive(svc, local(8, 5), cpf=early_cpf)  # 55 min early: within a 60-min window
        late = arrive(svc, local(10, 1), cpf=late_cpf)  # a minute late: no tolerance
    assert early.rank_at == local(9)
    assert late.rank_at == local(10, 1)


@pytest.mark.parametrize(
    "arrival, status, rank",
    [
        (local(8, 29), "arrived", local(8, 29)),
        (local(8, 30), "arrived", local(9)),
        (local(9, 15), "arrived", local(9)),
        (local(9, 16), "late", local(9, 16)),
    ],
)
def test_the_window_s_edges(arrival, status, rank):
    place = appointment_place_for(
        scheduled_at=local(9), arrived_at=arrival, early_minutes=30, late_minutes=15
    )
    assert (place.status, place.rank_at) == (status, rank)


def test_with_two_bookings_the_day_the_arrival_takes_the_nearest(clinic_a):
    with clinic_a:
        svc = f.reception()
        cpf = new_cpf()
        morning = book(svc, local(9), cpf=cpf)
        afternoon = book(svc, local(15), cpf=cpf)
        ticket = arrive(svc, local(14, 50), cpf=cpf)
        morning.refresh_from_db()
        afternoon.refresh_from_db()
    assert ticket.rank_at == local(15)
    assert (afternoon.status, afternoon.ticket_id) == (AppointmentStatus.ARRIVED, ticket.pk)
    assert morning.status == AppointmentStatus.EXPECTED  # the reset will call it a no-show
