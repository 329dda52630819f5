"""The console and the dashboard on their live streams: opened with the page's own sign-in."""

import pytest
from playwright.sync_api import expect

from tests.queueing import factories
from tests.web.conftest import console_ready, manager_user, sign_in, staff_user
from tests.web.test_panel_live import events_process  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _wait_for_streaming(page) -> None:
    page.wait_for_function("() => window.clinico.liveState.mode === 'streaming'", timeout=20_000)


def test_the_console_shows_a_ticket_issued_elsewhere_through_its_stream(
    page,
    clinic_a,
    clinic_url,
    events_process,  # noqa: F811
):
    # Given a receptionist's console following the clinic's stream
    staff_user(clinic_a, "receptionist", "rita@sol.test")
    sign_in(page, clinic_url(clinic_a, "/login/"), "rita@sol.test")
    console_ready(page)
    _wait_for_streaming(page)
    polls = []
    page.on("request", lambda request: "/api/v1/queue/" in request.url and polls.append(1))

    # When a ticket is issued elsewhere (a partner's check-in, another receptionist)
    with clinic_a:
        factories.waiting(factories.reception())

    # Then the queue shows it at once, read once because the stream said so
    expect(page.locator("#queue")).to_contain_text("R001", timeout=5_000)
    assert len(polls) == 1
    assert page.evaluate("window.clinico.liveState.mode") == "streaming"


def test_the_dashboard_refreshes_a_clinics_figures_when_its_stream_says_it_changed(
    page,
    clinic_a,
    public_url,
    settings,
    celery_worker,
    events_process,  # noqa: F811
):
    from tenants.live_figures import clinic_live_figures_refresh

    # Given a manager's dashboard following the chain's stream, the clinic's figures current
    settings.CLINICO_LIVE_FIGURES_PUBLISH = True
    clinic_live_figures_refresh(clinic=clinic_a)
    manager_user(clinic_a.chain, "gabi@rede-sol.test")
    sign_in(page, public_url("/login/"), "gabi@rede-sol.test")
    _wait_for_streaming(page)
    row = page.locator(f"tr[data-clinic='{clinic_a.schema_name}']")
    expect(row.locator("[data-fig=waiting]")).to_have_text("0")

    # When a patient starts waiting at one of the chain's clinics
    with clinic_a:
        factories.waiting(factories.reception())

    # Then its figure changes within seconds (the worker refreshes the clinic's public figures
    # and the stream says so), not at the next 15 s poll
    expect(row.locator("[data-fig=waiting]")).to_have_text("1", timeout=12_000)
    assert "clinic.changed" in page.evaluate("window.clinico.liveState.received")
