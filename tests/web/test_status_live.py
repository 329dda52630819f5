"""The patient's status page on its ticket's live stream: the call shows the moment it is made.

A real events process (uvicorn) serves the stream on its own port of the clinic's host, as in
`make run`; the page's polls are slowed to ten minutes, so only the stream can explain the call.
"""

import pytest
from playwright.sync_api import expect

from events.models import Event
from queueing.services.workflow import (
    ticket_call_next,
    ticket_finish,
    ticket_start,
    ticket_transfer,
)
from queueing.status_token import ticket_status_path
from tests.processes import free_port
from tests.queueing import factories
from tests.web.test_panel_live import EventsProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def events_process(settings, django_db_setup):
    process = EventsProcess(free_port())
    settings.CLINICO_EVENTS_PAGE_PORT = process.port
    process.start()
    yield process
    process.stop()


@pytest.fixture
def slow_polls(monkeypatch):
    """The page polls (and refreshes its place while streaming) only every ten minutes."""
    monkeypatch.setattr("web.status.POLL_SECONDS", 600)
    monkeypatch.setattr("web.status.STREAMING_REFRESH_SECONDS", 600)


def _wait_for_mode(phone, mode: str, timeout: float = 20_000) -> None:
    phone.wait_for_function(
        "(mode) => window.clinico.liveState.mode === mode", arg=mode, timeout=timeout
    )


def test_the_status_page_shows_the_call_from_its_stream(
    new_page, clinic_a, clinic_url, events_process, slow_polls, screenshots
):
    # Given a waiting ticket, next in line, and its status page open on a phone
    with clinic_a:
        reception = factories.reception()
        desk = factories.desk("Guichê 2", reception)
        ticket = factories.waiting(reception)
        path = ticket_status_path(ticket=ticket)
    phone = new_page(locale="pt-BR", viewport=PHONE, is_mobile=True, has_touch=True)
    stream_urls = []
    phone.on("request", lambda r: "/events/" in r.url and stream_urls.append(r.url))
    phone.goto(clinic_url(clinic_a, path))
    expect(phone.locator("#status-headline")).to_have_text("Você é o próximo")
    _wait_for_mode(phone, "streaming")
    # the stream is the ticket's, and its URL holds no token (the cookie does)
    token = path.split("#", 1)[1]
    assert stream_urls and all(f"/events/status/{ticket.pk}/" in url for url in stream_urls)
    assert not any(token in url for url in stream_urls)

    # When the desk calls it
    with clinic_a:
        ticket_call_next(desk_id=desk.pk)
        call = Event.objects.get(kind="ticket.called", ticket_id=ticket.pk)

    # Then the page shows the call at once, with no poll due for ten minutes: the stream said it
    expect(phone.locator("#status-headline")).to_have_text("Chamada para Guichê 2", timeout=5_000)
    expect(phone.locator("#status-detail")).to_have_text("Dirija-se para lá agora.")
    assert call.id in phone.evaluate("window.clinico.liveState.received")
    assert phone.evaluate("window.clinico.liveState.mode") == "streaming"
    phone.screenshot(path=str(screenshots / "status-live-called-390.png"), full_page=True)

    # When the visit is over
    with clinic_a:
        ticket_start(ticket_id=ticket.pk)
        ticket_finish(ticket_id=ticket.pk)

    # Then the page says so from the stream, and stops following the ticket
    expect(phone.locator("#status-headline")).to_have_text(
        "O atendimento desta senha terminou. Obrigado!", timeout=5_000
    )
    _wait_for_mode(phone, "stopped", timeout=5_000)


def test_the_status_page_polls_while_its_stream_is_cut(
    new_page, clinic_a, clinic_url, events_process, monkeypatch
):
    # Given the status page on its stream, polling every second should the stream be cut
    monkeypatch.setattr("web.status.POLL_SECONDS", 1)
    monkeypatch.setattr("web.status.STREAMING_REFRESH_SECONDS", 600)
    with clinic_a:
        reception = factories.reception()
        desk = factories.desk("Guichê 1", reception)
        ticket = factories.waiting(reception)
        path = ticket_status_path(ticket=ticket)
    phone = new_page(locale="pt-BR", viewport=PHONE)
    phone.goto(clinic_url(clinic_a, path))
    _wait_for_mode(phone, "streaming")

    # When the events process goes away, and the desk calls meanwhile
    events_process.stop()
    _wait_for_mode(phone, "polling")
    with clinic_a:
        ticket_call_next(desk_id=desk.pk)

    # Then the polls show the call
    expect(phone.locator("#status-headline")).to_have_text("Chamada para Guichê 1")


def test_after_a_transfer_the_status_page_follows_the_new_ticket_on_its_stream(
    new_page, clinic_a, clinic_url, events_process, slow_polls
):
    # Given a ticket in service at reception, its status page open on a phone
    with clinic_a:
        reception, triage = factories.reception(), factories.service("Triagem", "T")
        ticket = factories.waiting(reception)
        ticket_call_next(desk_id=factories.desk("Guichê 1", reception).pk)
        ticket_start(ticket_id=ticket.pk)
        triage_desk = factories.desk("Triagem 1", triage)
        path = ticket_status_path(ticket=ticket)
    phone = new_page(locale="pt-BR", viewport=PHONE)
    phone.goto(clinic_url(clinic_a, path))
    expect(phone.locator("#status-headline")).to_have_text("Em atendimento em Guichê 1")
    _wait_for_mode(phone, "streaming")

    # When the desk transfers it to triage
    with clinic_a:
        new = ticket_transfer(ticket_id=ticket.pk, service_id=triage.pk)

    # Then the page shows the new ticket and opens its stream again, for that ticket
    expect(phone.get_by_test_id("status-code")).to_have_text(new.display_code, timeout=5_000)
    phone.wait_for_function("() => window.clinico.liveState.opens >= 2", timeout=10_000)
    _wait_for_mode(phone, "streaming")

    # and when triage calls the new ticket, the page shows it from the stream
    with clinic_a:
        ticket_call_next(desk_id=triage_desk.pk)
    expect(phone.locator("#status-headline")).to_have_text("Chamada para Triagem 1", timeout=5_000)
