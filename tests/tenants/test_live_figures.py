"""The chain's live figures: a public row per clinic, kept current by the changes that move it."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from queueing.services import workflow
from queueing.services.desk_breaks import desk_break_start
from queueing.services.live_figures import LIVE_FIGURES_REFRESH_TASK
from tenants.live_figures import clinic_live_figures_refresh, clinics_live_figures_stale
from tenants.models import ClinicLiveFigures
from tenants.selectors import chain_clinics_page, chain_live_totals, clinic_live_values
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

OPENING = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)  # 09:00 in São Paulo


def at(minute: int):
    return time_machine.travel(OPENING + datetime.timedelta(minutes=minute), tick=False)


def _a_morning(clinic) -> None:
    """Three arrivals, one served in 6 minutes after a 4-minute wait, one desk on lunch."""
    with clinic:
        reception = f.reception()
        desk = f.desk("Guichê 1", reception)
        lunch = f.desk("Guichê 2", reception)
        with at(0):
            first = f.waiting(reception)
            f.waiting(reception)
        with at(2):
            f.waiting(reception)
        with at(4):
            workflow.ticket_call_next(desk_id=desk.pk)
            workflow.ticket_start(ticket_id=first.pk)
        with at(10):
            workflow.ticket_finish(ticket_id=first.pk)
            desk_break_start(desk_id=lunch.pk, reason="lunch")


def test_a_refresh_stores_the_clinics_today_in_the_public_schema(clinic_a):
    _a_morning(clinic_a)

    with at(20):
        clinic_live_figures_refresh(clinic=clinic_a)
        values = clinic_live_values(clinic=ClinicLiveFigures.objects.get(pk=clinic_a.pk).clinic)

    assert values["service_day"] == datetime.date(2026, 3, 2)
    assert {k: values[k] for k in ("tickets", "waiting", "at_desks", "served", "called")} == {
        "tickets": 3,
        "waiting": 2,
        "at_desks": 0,
        "served": 1,
        "called": 1,
    }
    assert (values["wait_avg_s"], values["service_avg_s"]) == (240.0, 360.0)
    assert (values["desks_open"], values["desks_on_break"], values["break_s"]) == (1, 1, 600.0)
    hours = ClinicLiveFigures.objects.get(pk=clinic_a.pk).hours
    assert hours == [{"hour": 9, "arrivals": 3, "calls": 1}]


def test_an_older_read_never_overwrites_a_newer_one(clinic_a):
    _a_morning(clinic_a)
    with at(20):
        clinic_live_figures_refresh(clinic=clinic_a)
    with at(15):  # a slower task that read earlier, writing last
        clinic_live_figures_refresh(clinic=clinic_a)
    live = ClinicLiveFigures.objects.get(pk=clinic_a.pk)
    assert live.refreshed_at == OPENING + datetime.timedelta(minutes=20)


def test_yesterdays_row_reads_as_a_day_without_tickets(clinic_a):
    _a_morning(clinic_a)
    with at(20):
        clinic_live_figures_refresh(clinic=clinic_a)
    with at(60 * 24):
        clinic = chain_clinics_page(chain=clinic_a.chain).clinics
        values = clinic_live_values(clinic=next(c for c in clinic if c.pk == clinic_a.pk))
        totals = chain_live_totals(chain=clinic_a.chain)
    assert (values["service_day"], values["tickets"], values["wait_avg_s"]) == (
        datetime.date(2026, 3, 3),
        0,
        None,
    )
    assert (totals["tickets"], totals["hours"]) == (0, [])


def test_the_chain_totals_add_up_the_clinics_with_one_query(clinic_a, clinic_b):
    _a_morning(clinic_a)
    _a_morning(clinic_b)
    chain = clinic_a.chain
    assert chain.pk == clinic_b.chain_id
    with at(20):
        clinic_live_figures_refresh(clinic=clinic_a)
        clinic_live_figures_refresh(clinic=clinic_b)
        with CaptureQueriesContext(connection) as queries:
            totals = chain_live_totals(chain=chain)
    assert len(queries) == 1
    assert (totals["tickets"], totals["waiting"], totals["served"]) == (6, 4, 2)
    assert (totals["wait_avg_s"], totals["break_s"]) == (240.0, 1200.0)
    # Local hours: 09:00 in São Paulo is 08:00 in Manaus.
    assert totals["hours"] == [
        {"hour": 8, "arrivals": 3, "calls": 1},
        {"hour": 9, "arrivals": 3, "calls": 1},
    ]


def test_a_page_of_clinics_costs_two_queries_whatever_the_chain_size(clinic_a, clinic_b):
    chain = clinic_a.chain
    with at(20):
        clinic_live_figures_refresh(clinic=clinic_a)
        clinic_live_figures_refresh(clinic=clinic_b)
        with CaptureQueriesContext(connection) as queries:
            page = chain_clinics_page(chain=chain, page=1, page_size=1)
            values = [clinic_live_values(clinic=c) for c in page.clinics]
    assert len(queries) == 2
    assert (len(page.clinics), page.count >= 2, page.pages >= 2) == (1, True, True)
    assert values[0] is not None


def test_the_catch_up_finds_clinics_whose_stream_moved_past_their_figures_with_one_query(
    clinic_a, clinic_b
):
    _a_morning(clinic_a)
    clinic_live_figures_refresh(clinic=clinic_a)
    clinic_live_figures_refresh(clinic=clinic_b)
    ClinicLiveFigures.objects.exclude(pk__in=[clinic_a.pk, clinic_b.pk]).delete()
    with CaptureQueriesContext(connection) as queries:
        fresh = clinics_live_figures_stale(settle=datetime.timedelta(0))

    with clinic_a:  # a change whose refresh was lost (the broker was down)
        f.waiting(f.reception())
    missed = clinics_live_figures_stale(settle=datetime.timedelta(0))
    settling = clinics_live_figures_stale()  # its debounced refresh may still be on the way
    clinic_live_figures_refresh(clinic=clinic_a)
    caught_up = clinics_live_figures_stale(settle=datetime.timedelta(0))

    assert len(queries) == 1
    assert clinic_a.schema_name not in fresh and clinic_b.schema_name not in fresh
    assert clinic_a.schema_name in missed and clinic_b.schema_name not in missed
    assert clinic_a.schema_name not in settling
    assert clinic_a.schema_name not in caught_up


def test_a_ticket_change_publishes_one_delayed_refresh_per_window(
    clinic_a, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.CLINICO_LIVE_FIGURES_PUBLISH = True
    sent = []
    monkeypatch.setattr(
        "celery.app.base.Celery.send_task",
        lambda self, name, *args, **kwargs: sent.append((name, kwargs.get("countdown"))),
    )
    cache.clear()
    with clinic_a:
        reception = f.reception()
        desk = f.desk("Guichê 1", reception)
        with django_capture_on_commit_callbacks(execute=True):
            f.waiting(reception)
        with django_capture_on_commit_callbacks(execute=True):
            workflow.ticket_call_next(desk_id=desk.pk)
        cache.clear()  # the window passed
        with django_capture_on_commit_callbacks(execute=True):
            desk_break_start(desk_id=f.desk("Guichê 2", reception).pk, reason="lunch")
    assert sent == [(LIVE_FIGURES_REFRESH_TASK, 2.0), (LIVE_FIGURES_REFRESH_TASK, 2.0)]
