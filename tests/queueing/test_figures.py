"""One set of figures: the clinic's take every service together, and a closed day keeps its own."""

import datetime

import pytest
import time_machine

from queueing.selectors.figures import day_figures_get
from queueing.services import workflow
from queueing.services.day_close import days_close
from tests.queueing import factories as f
from tests.queueing.test_stats import EXPECTED_RECEPTION, _script_the_day, at

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 2)
CLOSED_KEYS = (
    "tickets",
    "served",
    "no_shows",
    "cancelled",
    "transferred",
    "wait_avg_s",
    "wait_p90_s",
    "service_avg_s",
    "within_target_share",
)


def _script_triage() -> None:
    """Triage, target 30 minutes: G issued 0, called 40 (wait 2400 s); H issued 1, waiting."""
    triage = f.service("Triagem 2", "TT", target_wait_minutes=30)
    desk = f.desk("Triagem 1", triage)
    with at(0):
        f.waiting(triage)
    with at(1):
        f.waiting(triage)
    with at(40):
        workflow.ticket_call_next(desk_id=desk.pk)


def test_the_clinics_figures_take_every_services_tickets_together(clinic_a):
    with clinic_a:
        _script_the_day()
        _script_triage()
        day = day_figures_get(service_day=DAY)
    clinic = day.clinic

    assert [s["prefix"] for s in day.services] == ["R", "T", "TT"]  # by name; T has no ticket
    assert (clinic["tickets"], clinic["waiting"], clinic["called_now"]) == (8, 2, 1)
    assert (clinic["in_service"], clinic["served"], clinic["called"]) == (1, 2, 5)
    assert clinic["wait_avg_s"] == 1068.0  # (240 + 720 + 1080 + 900 + 2400) / 5
    assert clinic["wait_p90_s"] == 1872.0  # 1080 + 0.6 × (2400 − 1080), over all five waits
    assert clinic["within_target_share"] == 0.2  # A only: 40 minutes is past triage's 30


def test_a_closed_day_keeps_the_figures_it_showed_live(clinic_a):
    with clinic_a:
        _script_the_day()
        live = day_figures_get(service_day=DAY)
        with time_machine.travel(datetime.datetime(2026, 3, 3, 12, 0, tzinfo=datetime.UTC)):
            [closed] = days_close()

    assert closed.service_day == DAY
    assert {k: getattr(closed, k) for k in CLOSED_KEYS} == {k: live.clinic[k] for k in CLOSED_KEYS}
    assert closed.expired == 2  # E waiting and F in service when the day ended
    [reception] = closed.by_service
    assert {k: reception[k] for k in CLOSED_KEYS} == {k: EXPECTED_RECEPTION[k] for k in CLOSED_KEYS}


def test_a_day_without_tickets_shows_zeros_for_the_clinic(clinic_a):
    with clinic_a:
        clinic = day_figures_get(service_day=datetime.date(2020, 1, 1)).clinic

    assert (clinic["tickets"], clinic["waiting"], clinic["wait_avg_s"]) == (0, 0, None)
    assert clinic["within_target_share"] is None
