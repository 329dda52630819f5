"""The chain's live figures end to end: a ticket change publishes, a real worker refreshes."""

import time

import pytest
from django.core.cache import cache

from queueing.services import workflow
from tenants.models import ClinicLiveFigures
from tests.queueing import factories

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def worker(start_worker):
    return start_worker("live-figures")


def _live_figures_when(clinic, ready, *, timeout: float = 30) -> ClinicLiveFigures:
    deadline = time.monotonic() + timeout
    while True:
        live = ClinicLiveFigures.objects.filter(clinic=clinic).first()
        if live is not None and ready(live):
            return live
        if time.monotonic() > deadline:
            raise AssertionError(f"live figures not refreshed in {timeout}s: {live and vars(live)}")
        time.sleep(0.2)


def test_ticket_changes_reach_the_chains_figures_through_the_worker(clinic_a, settings):
    settings.CLINICO_LIVE_FIGURES_PUBLISH = True
    cache.clear()
    ClinicLiveFigures.objects.filter(clinic=clinic_a).delete()
    with clinic_a:
        reception = factories.reception()
        desk = factories.desk("Guichê 1", reception)
        factories.waiting(reception)
        factories.waiting(reception)  # within the window: no second publish, read all the same

    live = _live_figures_when(clinic_a, lambda row: row.waiting == 2)
    assert (live.tickets, live.at_desks, live.desks_open) == (2, 0, 1)

    cache.clear()  # the next change comes after the window
    with clinic_a:
        workflow.ticket_call_next(desk_id=desk.pk)

    live = _live_figures_when(clinic_a, lambda row: row.at_desks == 1)
    assert (live.waiting, live.called) == (1, 1)
    assert live.last_event_id > 0
