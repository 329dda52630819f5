"""Pages follow what they show, live: breaks and desks opening or closing on the TV panel, and a
transfer's new code on the panel and the patient's phone, with the printed code kept in sight.

A real events process (uvicorn) serves the streams, as in `make run`; the changes reach it
through PostgreSQL's NOTIFY. The status page's polls are slowed to ten minutes, so only the
stream can explain what it shows.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from events.models import Event
from queueing.models import Desk
from queueing.services.desk_breaks import desk_break_end, desk_break_start
from queueing.services.setup import desk_update
from queueing.services.workflow import ticket_call_next, ticket_start, ticket_transfer
from queueing.status_token import ticket_status_path
from tests.queueing import factories
from tests.web.test_panel_live import (
    _open_panel,
    _wait_for_mode,
    events_process,  # noqa: F401 - the fixture
)
from tests.web.test_status_live import slow_polls  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots-q")
PC = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def _desk_tile(tv, name: str):
    return tv.locator("#desks .panel-desk").filter(has_text=name)


def _streamed(tv, clinic, kind: str, desk_id: int) -> None:
    with clinic:
        event_id = Event.objects.filter(kind=kind, desk_id=desk_id).latest("id").id
    tv.wait_for_function(
        "(id) => window.clinico.liveState.received.includes(id)", arg=event_id, timeout=2_000
    )


def test_the_panel_shows_a_break_within_two_seconds_and_clears_it_when_it_ends(
    new_page,
    clinic_a,
    clinic_url,
    events_process,  # noqa: F811
):
    # Given two open desks and the TV panel on its stream
    with clinic_a:
        reception = factories.reception()
        one = factories.desk("Guichê 1", reception)
        factories.desk("Guichê 2", reception)
    tv = _open_panel(new_page, clinic_a, clinic_url)
    _wait_for_mode(tv, "streaming")
    expect(_desk_tile(tv, "Guichê 1")).not_to_contain_text("Fechado")

    # When Guichê 1 starts a break
    with clinic_a:
        desk_break_start(desk_id=one.pk, reason="lunch")

    # Then within two seconds, without a reload, the panel shows it closed (from the stream)
    expect(_desk_tile(tv, "Guichê 1")).to_contain_text("Fechado", timeout=2_000)
    expect(_desk_tile(tv, "Guichê 2")).not_to_contain_text("Fechado")
    _streamed(tv, clinic_a, "desk.break_started", one.pk)
    SHOTS.mkdir(parents=True, exist_ok=True)
    tv.screenshot(path=str(SHOTS / "panel-break-1920x1080.png"))

    # When the break ends, the panel opens the desk again within two seconds
    with clinic_a:
        desk_break_end(desk_id=one.pk)
    expect(_desk_tile(tv, "Guichê 1")).not_to_contain_text("Fechado", timeout=2_000)
    _streamed(tv, clinic_a, "desk.break_ended", one.pk)
    assert tv.evaluate("window.clinico.liveState.mode") == "streaming"


def test_the_panel_shows_desks_opening_and_closing_live(
    new_page,
    clinic_a,
    clinic_url,
    events_process,  # noqa: F811
):
    # Given an active desk and one not yet opened, and the panel on its stream
    with clinic_a:
        reception = factories.reception()
        factories.desk("Guichê 1", reception)
        later = factories.desk("Guichê 3", reception, is_active=False)
    tv = _open_panel(new_page, clinic_a, clinic_url)
    _wait_for_mode(tv, "streaming")
    expect(_desk_tile(tv, "Guichê 1")).to_be_visible()
    expect(_desk_tile(tv, "Guichê 3")).to_have_count(0)

    # When the clinic admin opens Guichê 3, it appears on the panel
    with clinic_a:
        desk_update(desk=later, is_active=True)
    expect(_desk_tile(tv, "Guichê 3")).to_be_visible(timeout=2_000)
    _streamed(tv, clinic_a, "desk.activated", later.pk)

    # and when it is closed again, it goes away
    with clinic_a:
        desk_update(desk=Desk.objects.get(pk=later.pk), is_active=False)
    expect(_desk_tile(tv, "Guichê 3")).to_have_count(0, timeout=2_000)
    _streamed(tv, clinic_a, "desk.deactivated", later.pk)


def test_a_transfer_shows_the_new_code_on_the_panel_and_the_phone_with_the_printed_one(
    new_page,
    clinic_a,
    clinic_url,
    events_process,  # noqa: F811
    slow_polls,  # noqa: F811
):
    # Given R001 called at Guichê 1 and in service; the TV panel and the patient's phone open
    with clinic_a:
        reception, triage = factories.reception(), factories.service("Triagem", "T")
        ticket = factories.waiting(reception)
        desk = factories.desk("Guichê 1", reception)
        ticket_call_next(desk_id=desk.pk)
        ticket_start(ticket_id=ticket.pk)
        path = ticket_status_path(ticket=ticket)
    tv = _open_panel(new_page, clinic_a, clinic_url)
    _wait_for_mode(tv, "streaming")
    expect(tv.locator("#now-code")).to_have_text("R001")
    expect(tv.get_by_test_id("now-changed")).to_be_hidden()
    phone = new_page(locale="pt-BR", viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(clinic_url(clinic_a, path))
    expect(phone.locator("#status-headline")).to_have_text("Em atendimento em Guichê 1")
    _wait_for_mode(phone, "streaming")
    expect(phone.get_by_test_id("status-changed")).to_be_hidden()

    # When the desk transfers R001 to triage (it becomes T001)
    with clinic_a:
        new = ticket_transfer(ticket_id=ticket.pk, service_id=triage.pk)
    assert new.display_code == "T001"

    # Then the panel keeps the printed code on "Chamando agora" and says what it became
    expect(tv.get_by_test_id("now-changed")).to_have_text(
        "Sua senha mudou para T001", timeout=2_000
    )
    expect(tv.locator("#now-code")).to_have_text("R001")
    tv.screenshot(path=str(SHOTS / "panel-transfer-1920x1080.png"))
    tv.set_viewport_size(PC)
    tv.screenshot(path=str(SHOTS / "panel-transfer-1366x768.png"))

    # and the phone announces the new code, with the printed one still in sight
    expect(phone.get_by_test_id("status-changed")).to_have_text(
        "Sua senha mudou para T001", timeout=5_000
    )
    expect(phone.get_by_test_id("status-code")).to_have_text("T001")
    expect(phone.locator("#status-printed")).to_have_text("Senha impressa: R001")
    phone.screenshot(path=str(SHOTS / "status-transfer-390x844.png"), full_page=True)
