"""Desk breaks: no calls while on break, out of the estimate, closed on the panel, time counted."""

import datetime

import pytest
import time_machine

from queueing.selectors.queue import panel_state, queue_today
from queueing.selectors.report import desk_break_figures
from queueing.services import workflow
from queueing.services.desk_breaks import desk_break_end, desk_break_start
from queueing.services.workflow import TicketActionRefused
from tests.conftest import client_for
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

OPENING = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)  # 09:00 in São Paulo


def at(minute: int):
    return time_machine.travel(OPENING + datetime.timedelta(minutes=minute), tick=False)


def _estimates() -> list[int | None]:
    (queue,) = [q for q in queue_today() if q["service"].is_default]
    return [t.estimated_wait_minutes for t in queue["tickets"] if t.position is not None]


def test_the_estimate_of_waiting_tickets_rises_when_a_desk_goes_on_break(clinic_a):
    with clinic_a, at(0):
        reception = f.reception()
        one, two = f.desk("Guichê 1", reception), f.desk("Guichê 2", reception)
        for _ in range(4):
            f.waiting(reception)
        # Two desks, 5 minutes a patient until one is served: rounds of two.
        assert _estimates() == [5, 5, 10, 10]

        desk_break_start(desk_id=one.pk, reason="lunch")

        assert _estimates() == [5, 10, 15, 20]
        desk_break_start(desk_id=two.pk, reason="meeting")
        assert _estimates() == [None, None, None, None]  # nobody calls: no estimate
        desk_break_end(desk_id=one.pk)
        assert _estimates() == [5, 10, 15, 20]


def test_a_desk_on_break_cannot_call_and_the_refusal_names_the_reason(clinic_a):
    with clinic_a, at(0):
        reception = f.reception()
        desk = f.desk("Guichê 1", reception)
        ticket = f.waiting(reception)
        desk_break_start(desk_id=desk.pk, reason="lunch")

        with pytest.raises(TicketActionRefused) as refused:
            workflow.ticket_call_next(desk_id=desk.pk)

        assert refused.value.code == "desk_on_break"
        assert "Almoço" in refused.value.detail  # the reason, as staff read it
        desk_break_end(desk_id=desk.pk)
        assert workflow.ticket_call_next(desk_id=desk.pk).pk == ticket.pk


def test_call_next_api_answers_409_desk_on_break(clinic_a):
    user = f.staff(clinic_a, "clinician")
    with clinic_a:
        desk = f.desk("Guichê 1", f.reception())
        f.waiting(f.reception())
    client = client_for(clinic_a)
    client.force_authenticate(user=user)

    started = client.post(f"/api/v1/desks/{desk.pk}/break/", {"reason": "meeting"}, format="json")
    refused = client.post(f"/api/v1/desks/{desk.pk}/call-next/")
    again = client.post(f"/api/v1/desks/{desk.pk}/break/", {"reason": "lunch"}, format="json")
    ended = client.post(f"/api/v1/desks/{desk.pk}/break/end/")
    not_on_break = client.post(f"/api/v1/desks/{desk.pk}/break/end/")
    bad = client.post(f"/api/v1/desks/{desk.pk}/break/", {"reason": "nap"}, format="json")

    assert started.status_code == 200 and started.json()["break_reason"] == "meeting"
    assert started.json()["break_started_at"] is not None
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "desk_on_break"
    assert "Reunião" in refused.json()["errors"][0]["detail"]
    assert (again.status_code, again.json()["errors"][0]["code"]) == (409, "desk_on_break")
    assert ended.status_code == 200
    assert (ended.json()["break_reason"], ended.json()["break_started_at"]) == ("", None)
    assert not_on_break.json()["errors"][0]["code"] == "desk_not_on_break"
    assert (bad.status_code, bad.json()["errors"][0]["attr"]) == (400, "reason")


def test_a_desk_holding_a_ticket_cannot_go_on_break(clinic_a):
    with clinic_a, at(0):
        desk = f.desk("Guichê 1", f.reception())
        f.waiting(f.reception())
        held = workflow.ticket_call_next(desk_id=desk.pk)

        with pytest.raises(TicketActionRefused) as refused:
            desk_break_start(desk_id=desk.pk, reason="lunch")

    assert (refused.value.code, refused.value.ticket.pk) == ("desk_busy", held.pk)


def test_the_panel_shows_a_desk_on_break_as_closed(clinic_a):
    with clinic_a, at(0):
        one = f.desk("Guichê 1", f.reception())
        f.desk("Guichê 2", f.reception())
        desk_break_start(desk_id=one.pk, reason="break")
        desks = {d["desk"]: d["closed"] for d in panel_state()["desks"]}
    assert desks == {"Guichê 1": True, "Guichê 2": False}


def test_break_time_per_desk_counts_within_the_day_and_to_now_while_open(clinic_a):
    with clinic_a:
        one = f.desk("Guichê 1", f.reception())
        two = f.desk("Guichê 2", f.reception())
        with at(60):
            desk_break_start(desk_id=one.pk, reason="lunch")
        with at(105):
            desk_break_end(desk_id=one.pk)
        with at(200):
            desk_break_start(desk_id=one.pk, reason="break")
        with at(210):
            desk_break_end(desk_id=one.pk)
            desk_break_start(desk_id=two.pk, reason="meeting")
        with at(240):
            figures = {
                d["desk"]: (d["on_break"], d["break_s"])
                for d in desk_break_figures(service_day=datetime.date(2026, 3, 2))
            }
    # Guichê 1: 45 + 10 minutes; Guichê 2: on a meeting for 30 minutes so far.
    assert figures == {"Guichê 1": ("", 3300.0), "Guichê 2": ("meeting", 1800.0)}


def test_stats_today_lists_each_desks_break_time(clinic_a):
    user = f.staff(clinic_a, "clinic_admin")
    with clinic_a:
        desk = f.desk("Guichê 1", f.reception())
        with at(0):
            desk_break_start(desk_id=desk.pk, reason="lunch")
        with at(30):
            desk_break_end(desk_id=desk.pk)
    client = client_for(clinic_a)
    client.force_authenticate(user=user)
    with at(40):
        body = client.get("/api/v1/stats/today/").json()
    assert body["desks"] == [
        {"desk_id": desk.pk, "desk": "Guichê 1", "on_break": "", "break_s": 1800.0}
    ]


def test_each_end_of_a_break_goes_to_the_clinics_event_stream(clinic_a):
    from events.selectors import event_list_after

    with clinic_a:
        desk = f.desk("Guichê 1", f.reception())
        with at(0):
            desk_break_start(desk_id=desk.pk, reason="meeting")
        with at(15):
            desk_break_end(desk_id=desk.pk)
        events = event_list_after(after_id=0, kinds=["desk.break_started", "desk.break_ended"])

    assert [(e.kind, e.desk_id, e.data) for e in events] == [
        ("desk.break_started", desk.pk, {"reason": "meeting"}),
        ("desk.break_ended", desk.pk, {"reason": "meeting", "seconds": 900.0}),
    ]
