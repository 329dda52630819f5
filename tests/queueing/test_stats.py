"""Today's figures from a scripted day, checked against values worked out by hand."""

import datetime

import pytest
import time_machine

from queueing.selectors.figures import day_figures_get
from queueing.services import workflow
from queueing.services.setup import service_update
from tests.conftest import client_for
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

OPENING = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)  # 09:00 in São Paulo


def at(minute: int):
    return time_machine.travel(OPENING + datetime.timedelta(minutes=minute), tick=False)


def _script_the_day() -> None:
    """One desk, target wait 10 minutes. Minutes after opening:

    A issued 0, called 4, started 5, finished 11    wait 240 s, service 360 s, within target
    B issued 1, called 13, started 14, finished 16  wait 720 s, service 120 s
    C issued 2, called 20, no-show 21               wait 1080 s
    D issued 3, cancelled 6
    F issued 6, called 21, returned 22, called again 30, started 31   wait 900 s (first call)
    E issued 25, still waiting
    """
    reception = service_update(service=f.reception(), target_wait_minutes=10)
    f.service("Triagem", "T")  # active, nothing today
    desk = f.desk("Guichê 1", reception)
    tickets = {}
    for minute, name in [(0, "A"), (1, "B"), (2, "C"), (3, "D")]:
        with at(minute):
            tickets[name] = f.waiting(reception)
    with at(4):
        assert workflow.ticket_call_next(desk_id=desk.pk).pk == tickets["A"].pk
    with at(5):
        workflow.ticket_start(ticket_id=tickets["A"].pk)
    with at(6):
        workflow.ticket_cancel(ticket_id=tickets["D"].pk, reason="Left")
        tickets["F"] = f.waiting(reception)
    with at(11):
        workflow.ticket_finish(ticket_id=tickets["A"].pk)
    with at(13):
        assert workflow.ticket_call_next(desk_id=desk.pk).pk == tickets["B"].pk
    with at(14):
        workflow.ticket_start(ticket_id=tickets["B"].pk)
    with at(16):
        workflow.ticket_finish(ticket_id=tickets["B"].pk)
    with at(20):
        assert workflow.ticket_call_next(desk_id=desk.pk).pk == tickets["C"].pk
    with at(21):
        workflow.ticket_no_show(ticket_id=tickets["C"].pk)
        assert workflow.ticket_call_next(desk_id=desk.pk).pk == tickets["F"].pk
    with at(22):
        workflow.ticket_requeue(ticket_id=tickets["F"].pk)
    with at(25):
        tickets["E"] = f.waiting(reception)
    with at(30):
        assert workflow.ticket_call_next(desk_id=desk.pk).pk == tickets["F"].pk
    with at(31):
        workflow.ticket_start(ticket_id=tickets["F"].pk)


EXPECTED_RECEPTION = {
    "prefix": "R",
    "target_wait_minutes": 10,
    "tickets": 6,
    "waiting": 1,
    "called_now": 0,
    "in_service": 1,
    "served": 2,
    "no_shows": 1,
    "cancelled": 1,
    "transferred": 0,
    "expired": 0,
    "called": 4,
    "wait_avg_s": 735.0,  # (240 + 720 + 1080 + 900) / 4
    "wait_p90_s": 1026.0,  # 900 + 0.7 × (1080 − 900), linear interpolation
    "service_avg_s": 240.0,  # (360 + 120) / 2
    "within_target_share": 0.25,  # only A was called within 10 minutes
}


def test_the_days_figures_match_the_hand_computed_values(clinic_a):
    with clinic_a:
        _script_the_day()
        day = datetime.date(2026, 3, 2)
        figures = {row["prefix"]: row for row in day_figures_get(service_day=day).services}
    assert {k: figures["R"][k] for k in EXPECTED_RECEPTION} == EXPECTED_RECEPTION
    assert (figures["T"]["tickets"], figures["T"]["wait_avg_s"]) == (0, None)
    assert figures["T"]["within_target_share"] is None


def test_stats_today_answers_the_clinics_local_day_figures(clinic_a):
    user = f.staff(clinic_a, "clinician")
    with clinic_a:
        _script_the_day()
    client = client_for(clinic_a)
    client.force_authenticate(user=user)
    with at(40):
        today = client.get("/api/v1/stats/today/")
    with at(60 * 24):
        tomorrow = client.get("/api/v1/stats/today/")
    reception = next(s for s in today.json()["services"] if s["prefix"] == "R")
    assert today.status_code == 200
    assert today.json()["service_day"] == "2026-03-02"
    assert {k: reception[k] for k in EXPECTED_RECEPTION} == EXPECTED_RECEPTION
    tomorrow_reception = next(s for s in tomorrow.json()["services"] if s["prefix"] == "R")
    assert tomorrow.json()["service_day"] == "2026-03-03"
    assert (tomorrow_reception["tickets"], tomorrow_reception["waiting"]) == (0, 0)


def test_a_day_without_tickets_has_zero_counts_and_no_averages(clinic_a):
    with clinic_a:
        rows = day_figures_get(service_day=datetime.date(2020, 1, 1)).services
    assert [(r["prefix"], r["tickets"], r["wait_p90_s"]) for r in rows] == [("R", 0, None)]
