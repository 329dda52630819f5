"""The queue as staff and managers read it: call order, positions, estimates, today's only."""

import datetime

import pytest
import time_machine

from accounts.models import ChainMembership, User
from queueing.selectors.queue import ticket_position_and_estimate
from queueing.services import workflow
from tests.conftest import client_for
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

MORNING = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)  # 09:00 in São Paulo


def _minutes(n: float) -> datetime.timedelta:
    return datetime.timedelta(minutes=n)


def _staff_client(clinic, role="receptionist"):
    client = client_for(clinic)
    client.force_authenticate(user=f.staff(clinic, role))
    return client


def test_the_queue_lists_desk_tickets_then_waiting_ones_in_call_order_with_positions(clinic_a):
    with clinic_a, time_machine.travel(MORNING, tick=False):
        reception = f.reception()
        desk = f.desk("Guichê 1", reception)
        f.desk("Guichê 2", reception)
        first = f.waiting(reception, arrived_at=MORNING - _minutes(50))  # R001
        second = f.waiting(reception, arrived_at=MORNING - _minutes(40))  # R002
        elderly = f.waiting(
            reception, arrived_at=MORNING - _minutes(5), birth_date=datetime.date(1940, 1, 1)
        )
        donor = f.waiting(reception, reason="blood_donor", arrived_at=MORNING - _minutes(1))
        workflow.ticket_call_next(desk_id=desk.pk)  # the 80+ patient, though arrived late
        workflow.ticket_cancel(ticket_id=f.waiting(reception).pk, reason="Left")
        answer = _staff_client(clinic_a).get("/api/v1/queue/")
    assert answer.status_code == 200
    queue = answer.json()["services"][0]
    rows = [(t["display_code"], t["status"], t["position"]) for t in queue["tickets"]]
    assert rows == [
        (elderly.display_code, "called", None),
        (donor.display_code, "waiting", 1),
        (first.display_code, "waiting", 2),
        (second.display_code, "waiting", 3),
    ]
    assert queue["waiting_count"] == 3
    assert queue["active_desks"] == 2
    # No service finished yet today: 5 minutes per ticket, two desks working in parallel.
    assert [t["estimated_wait_minutes"] for t in queue["tickets"]] == [None, 5, 5, 10]
    assert queue["tickets"][0]["desk"]["name"] == "Guichê 1"
    assert queue["tickets"][0]["patient"]["display_name"] == "Ana Souza"


def test_the_estimate_uses_the_recent_service_times_of_the_day(clinic_a):
    with clinic_a:
        reception = f.reception()
        desk = f.desk("Guichê 1", reception)
        for duration in (8, 4):  # called → finished: 8 and 4 minutes, mean 6
            start = MORNING + _minutes(20 * (duration == 4))
            with time_machine.travel(start, tick=False):
                ticket = f.waiting(reception)
                workflow.ticket_call_next(desk_id=desk.pk)
                workflow.ticket_start(ticket_id=ticket.pk)
            with time_machine.travel(start + _minutes(duration), tick=False):
                workflow.ticket_finish(ticket_id=ticket.pk)
        with time_machine.travel(MORNING + _minutes(60), tick=False):
            first, second = f.waiting(reception), f.waiting(reception)
            assert ticket_position_and_estimate(ticket=first) == (1, 6)
            assert ticket_position_and_estimate(ticket=second) == (2, 12)


def test_with_no_active_desk_the_estimate_is_unknown(clinic_a):
    with clinic_a:
        ticket = f.waiting(f.reception())
        assert ticket_position_and_estimate(ticket=ticket) == (1, None)


def test_yesterdays_open_tickets_never_appear_in_todays_queue_numbering_or_calls(clinic_a):
    yesterday = MORNING - datetime.timedelta(days=1)
    with clinic_a:
        reception = f.reception()
        desk = f.desk("Guichê 1", reception)
        with time_machine.travel(yesterday, tick=False):
            f.waiting(reception)
            f.waiting(reception, reason="pregnant")
            workflow.ticket_call_next(desk_id=f.desk("Guichê 9", reception).pk)  # left called
        with time_machine.travel(MORNING, tick=False):
            today = f.waiting(reception)
            answer = _staff_client(clinic_a).get("/api/v1/queue/")
            first = workflow.ticket_call_next(desk_id=desk.pk)
            second = workflow.ticket_call_next(desk_id=f.desk("Guichê 2", reception).pk)
    tickets = answer.json()["services"][0]["tickets"]
    assert answer.json()["service_day"] == "2026-03-02"
    assert [(t["display_code"], t["position"]) for t in tickets] == [("R001", 1)]
    assert today.number == 1
    assert first.pk == today.pk
    assert second is None


def test_the_queue_can_be_narrowed_to_one_service(clinic_a):
    with clinic_a:
        f.waiting(f.reception())
        triage = f.service("Triagem", "T")
        f.waiting(triage)
    answer = _staff_client(clinic_a).get(f"/api/v1/queue/?service={triage.pk}")
    bad = _staff_client(clinic_a).get("/api/v1/queue/?service=abc")
    assert [s["service"]["prefix"] for s in answer.json()["services"]] == ["T"]
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["attr"] == "service"


def test_chain_managers_see_codes_and_positions_but_no_patient(clinic_a):
    manager = User.objects.create_user("gestor@test.clinico", "pw-irrelevant-123")
    ChainMembership.objects.create(user=manager, chain=clinic_a.chain)
    with clinic_a:
        ticket = f.waiting(f.reception())
    client = client_for(clinic_a)
    client.force_authenticate(user=manager)
    queue = client.get("/api/v1/queue/")
    detail = client.get(f"/api/v1/tickets/{ticket.pk}/")
    call = client.post("/api/v1/desks/1/call-next/")
    assert queue.status_code == 200
    assert queue.json()["services"][0]["tickets"][0]["patient"] is None
    assert queue.json()["services"][0]["tickets"][0]["position"] == 1
    assert detail.json()["patient"] is None
    assert all(event["actor"] is None for event in detail.json()["events"])
    assert call.status_code == 403


def test_the_ticket_detail_shows_position_times_and_events(clinic_a):
    with clinic_a:
        ticket = f.waiting(f.reception(), reason="autism")
    answer = _staff_client(clinic_a, "clinician").get(f"/api/v1/tickets/{ticket.pk}/")
    body = answer.json()
    assert answer.status_code == 200
    assert (body["display_code"], body["status"], body["position"]) == ("R001", "waiting", 1)
    assert (body["priority_tier"], body["priority_reason"]) == (1, "autism")
    assert body["events"][0]["kind"] == "issued"
    assert _staff_client(clinic_a).get("/api/v1/tickets/999999/").status_code == 404
