"""The TV panel on its live stream: it says each call aloud, and catches up when the stream is cut.

A real events process (uvicorn) serves the stream on its own port of the clinic's host, as in
`make run`; the desks' calls reach it through PostgreSQL's NOTIFY.
"""

import re

import pytest
from playwright.sync_api import expect

from events.models import Event
from queueing.services.workflow import ticket_call_next, ticket_finish, ticket_recall, ticket_start
from tests.events.conftest import events_env, uvicorn_command
from tests.processes import ROOT, answers_health, free_port, process_running
from tests.queueing import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records what the page asks the browser to say, instead of saying it.
CAPTURE_SPEECH = """
window.__spoken = [];
const record = (utterance) => window.__spoken.push(
  { text: utterance.text, lang: utterance.lang, rate: utterance.rate });
if (window.speechSynthesis) {
  window.speechSynthesis.speak = record;
} else {
  window.speechSynthesis = { speak: record, cancel() {}, getVoices() { return []; } };
  window.SpeechSynthesisUtterance = function (text) { this.text = text; };
}
"""


class EventsProcess:
    """The events process on a fixed port, which a test may stop and start again."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._running = None

    def start(self):
        log_path = ROOT / ".run" / f"events-browser-test-{self.port}.log"
        self._running = process_running(
            uvicorn_command(self.port),
            env={**events_env(), "CLINICO_EVENTS_HEARTBEAT_SECONDS": "5"},
            log_path=log_path,
            ready=lambda: answers_health(self.url),
            what="the events process (uvicorn)",
        )
        self._running.__enter__()

    def stop(self):
        if self._running is not None:
            self._running.__exit__(None, None, None)
            self._running = None


@pytest.fixture
def events_process(settings, django_db_setup):
    # Per test: live-server tests re-provision the clinics, which a running process's host
    # cache would still know by their old rows for a few seconds.
    process = EventsProcess(free_port())
    settings.CLINICO_EVENTS_PAGE_PORT = process.port
    process.start()
    yield process
    process.stop()


def _open_panel(new_page, clinic, clinic_url):
    tv = new_page(locale="pt-BR", viewport={"width": 1920, "height": 1080})
    tv.add_init_script(CAPTURE_SPEECH)
    tv.goto(clinic_url(clinic, f"/panel/#key={clinic.panel_key}"))
    expect(tv).to_have_url(re.compile(r"/panel/$"))
    return tv


def _mode(tv) -> str:
    return tv.evaluate("window.clinico.liveState.mode")


def _wait_for_mode(tv, mode: str, timeout: float = 20_000) -> None:
    tv.wait_for_function(
        "(mode) => window.clinico.liveState.mode === mode", arg=mode, timeout=timeout
    )


def _spoken(tv) -> list[str]:
    return [entry["text"] for entry in tv.evaluate("window.__spoken")]


def test_the_panel_says_each_call_in_portuguese_and_again_on_a_recall(
    new_page, clinic_a, clinic_url, events_process, screenshots
):
    # Given a waiting ticket, a desk and the TV panel following the clinic's stream
    with clinic_a:
        reception = factories.reception()
        desk = factories.desk("Guichê 2", reception)
        ticket = factories.waiting(reception)
        for _ in range(4):
            factories.waiting(reception)
        ticket_call_next(desk_id=desk.pk)
        ticket_start(ticket_id=ticket.pk)
        ticket_finish(ticket_id=ticket.pk)
    tv = _open_panel(new_page, clinic_a, clinic_url)
    _wait_for_mode(tv, "streaming")
    expect(tv.locator("#now-code")).to_have_text("R001")
    assert _spoken(tv) == []  # calls made before the TV opened are shown, not said

    # When the desk calls the next ticket (R002)
    with clinic_a:
        called = ticket_call_next(desk_id=desk.pk)

    # Then the panel shows it and says it once, in Portuguese, letter by letter
    expect(tv.locator("#now-code")).to_have_text(called.display_code)
    tv.wait_for_function("() => window.__spoken.length >= 1")
    assert _spoken(tv) == ["Senha R 0 0 2, Guichê 2"]
    entry = tv.evaluate("window.__spoken[0]")
    assert entry["lang"] == "pt-BR" and entry["rate"] == pytest.approx(0.9)
    # and it came by the stream, not by a poll
    with clinic_a:
        call_event = Event.objects.get(kind="ticket.called", ticket_id=called.pk)
    assert call_event.id in tv.evaluate("window.clinico.liveState.received")
    assert _mode(tv) == "streaming"
    tv.screenshot(path=str(screenshots / "panel-live-call.png"))

    # When the desk calls the same ticket again
    with clinic_a:
        ticket_recall(ticket_id=called.pk)

    # Then the panel says it again
    tv.wait_for_function("() => window.__spoken.length >= 2")
    assert _spoken(tv) == ["Senha R 0 0 2, Guichê 2", "Senha R 0 0 2, Guichê 2"]

    # When the voice is turned off on this TV (and it stays off after a reload)
    tv.get_by_role("button", name="Voz ligada").click()
    expect(tv.get_by_role("button", name="Voz desligada")).to_be_visible()
    tv.reload()
    _wait_for_mode(tv, "streaming")
    expect(tv.get_by_role("button", name="Voz desligada")).to_be_visible()
    with clinic_a:
        ticket_start(ticket_id=called.pk)
        ticket_finish(ticket_id=called.pk)
        ticket_call_next(desk_id=desk.pk)

    # Then the call is shown but not said
    expect(tv.locator("#now-code")).to_have_text("R003")
    tv.wait_for_timeout(500)
    assert tv.evaluate("window.__spoken") == []


def test_a_cut_stream_falls_back_to_polling_and_catches_up_with_what_it_missed(
    new_page, clinic_a, clinic_url, events_process
):
    # Given the panel on its stream
    with clinic_a:
        reception = factories.reception()
        desk = factories.desk("Guichê 1", reception)
        first = factories.waiting(reception)
        factories.waiting(reception)
    tv = _open_panel(new_page, clinic_a, clinic_url)
    _wait_for_mode(tv, "streaming")
    resumed_from = tv.evaluate("window.clinico.liveState.lastEventId")
    stream_requests = []
    tv.on(
        "request",
        lambda request: "/events/panel/" in request.url and stream_requests.append(request.url),
    )

    # When the events process goes away, and a desk calls while it is away
    events_process.stop()
    _wait_for_mode(tv, "polling")
    with clinic_a:
        ticket_call_next(desk_id=desk.pk)
        missed = Event.objects.get(kind="ticket.called", ticket_id=first.pk).id

    # Then the panel still shows the call (polling) and says it once
    expect(tv.locator("#now-code")).to_have_text("R001")
    tv.wait_for_function("() => window.__spoken.length >= 1")

    # When the events process is back
    events_process.start()

    # Then the panel opens its stream again after the last event it had, receives the call it
    # missed from the outbox, and does not say it twice
    _wait_for_mode(tv, "streaming", timeout=40_000)
    tv.wait_for_function("(id) => window.clinico.liveState.received.includes(id)", arg=missed)
    assert any(f"last_event_id={resumed_from}" in url for url in stream_requests)
    assert _spoken(tv) == ["Senha R 0 0 1, Guichê 1"]
    assert tv.evaluate("window.clinico.liveState.opens") == 2
