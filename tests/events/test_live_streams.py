"""Live streams served by a real uvicorn process, woken by real PostgreSQL notifications."""

import time

import pytest
from django.conf import settings
from django.test import Client

from events.selectors import event_last_id
from events.services import event_record
from patients.models import Patient
from queueing.models import Desk, Service, Ticket, TicketCounter, TicketEvent
from queueing.services import workflow
from tenants.models import Chain
from tenants.selectors import clinic_hostname
from tests.events.conftest import EventStreamClient, _in, committed, session_cookie
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


def _queue_clean(clinic) -> None:
    """Remove what these tests committed to the clinic's queue."""
    with clinic:
        TicketEvent.objects.all().delete()
        Ticket.objects.all().delete()
        TicketCounter.objects.all().delete()
        Desk.objects.all().delete()
        Service.objects.filter(is_default=False).delete()
        Patient.objects.all().delete()


@pytest.fixture
def queue_a(clinic_a):
    yield clinic_a
    committed(_queue_clean, clinic_a)


def _panel_stream(server, clinic, key: str, **headers) -> EventStreamClient:
    return EventStreamClient(
        f"{server.url}/events/panel/",
        headers={"Host": clinic_hostname(clinic=clinic), "X-Panel-Key": key, **headers},
    )


def test_a_panel_stream_shows_a_call_the_moment_the_desk_commits_it(events_server, queue_a):
    def setup():
        svc = f.reception()
        return f.desk("Guichê 2", svc), f.waiting(svc)

    desk, ticket = _in(queue_a, setup)
    stream = _panel_stream(events_server, queue_a, queue_a.panel_key)
    try:
        assert stream.status_code == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        opened = stream.next_of("stream.open")
        assert opened is not None
        called_at = time.monotonic()
        _in(queue_a, workflow.ticket_call_next, desk_id=desk.pk)
        message = stream.next_of("ticket.called")
    finally:
        stream.close()
    event_id, data, received_at = message
    # The issue of the ticket is not the waiting room's business; the call is, at once.
    assert "ticket.issued" not in stream.kinds_seen
    assert data["kind"] == "ticket.called"
    assert int(event_id) == data["id"] > opened[1]["last_id"]
    assert data["data"]["display_code"] == ticket.display_code
    assert data["data"]["desk"] == "Guichê 2"
    assert received_at - called_at < 2.0


def test_a_stream_resumes_after_its_last_event_id_with_what_it_missed(events_server, queue_a):
    def missed_while_away():
        before = event_last_id()
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        first, second = f.waiting(svc), f.waiting(svc)
        workflow.ticket_call_next(desk_id=desk.pk)
        workflow.ticket_no_show(ticket_id=first.pk)
        workflow.ticket_call_next(desk_id=desk.pk)
        return before, first, second

    before, first, second = _in(queue_a, missed_while_away)
    resume = {"Last-Event-ID": str(before)}
    stream = _panel_stream(events_server, queue_a, queue_a.panel_key, **resume)
    try:
        missed = [stream.next() for _ in range(4)]
    finally:
        stream.close()
    assert [data["kind"] for _id, data, _at in missed] == [
        "ticket.called",
        "ticket.no_show",
        "ticket.called",
        "stream.open",
    ]
    assert [missed[0][1]["ticket_id"], missed[2][1]["ticket_id"]] == [first.pk, second.pk]


def test_streams_send_heartbeats_while_nothing_happens(events_server, clinic_a):
    stream = _panel_stream(events_server, clinic_a, clinic_a.panel_key)
    try:
        opened = stream.next_of("stream.open")
        beats = [stream.next(timeout=3)[1]["kind"] for _ in range(2)]  # the tests' beat is 1 s
    finally:
        stream.close()
    assert opened[1]["heartbeat_s"] == 1.0
    assert beats == ["stream.heartbeat", "stream.heartbeat"]


def test_a_wrong_panel_key_or_another_clinics_key_is_refused(events_server, clinic_a, clinic_b):
    wrong = _panel_stream(events_server, clinic_a, "not-the-key")
    other_clinics = _panel_stream(events_server, clinic_b, clinic_a.panel_key)
    no_key = EventStreamClient(
        f"{events_server.url}/events/panel/", headers={"Host": clinic_hostname(clinic=clinic_a)}
    )
    assert (wrong.status_code, other_clinics.status_code, no_key.status_code) == (403, 403, 403)
    assert wrong.response.json()["errors"][0]["code"] == "panel_key_invalid"


def test_the_console_stream_needs_a_member_of_this_clinic(events_server, clinic_a, clinic_b, staff):
    member = staff(clinic_a, "clinician")
    outsider = staff(clinic_b, "clinician")
    host = clinic_hostname(clinic=clinic_a)
    url = f"{events_server.url}/events/console/"
    anonymous = EventStreamClient(url, headers={"Host": host})
    refused = EventStreamClient(url, headers={"Host": host}, cookies=session_cookie(outsider, host))
    allowed = EventStreamClient(url, headers={"Host": host}, cookies=session_cookie(member, host))
    try:
        opened = allowed.next_of("stream.open")
    finally:
        allowed.close()
    assert (anonymous.status_code, refused.status_code, allowed.status_code) == (401, 403, 200)
    assert opened is not None


def test_the_dashboard_stream_tells_a_manager_which_clinic_changed(events_server, clinic_a, staff):
    from accounts.services import chain_membership_grant

    manager = staff(clinic_a, "clinician")
    committed(chain_membership_grant, user=manager, chain=Chain.objects.get(pk=clinic_a.chain_id))
    staff_only = staff(clinic_a, "receptionist")
    host = settings.BASE_DOMAIN
    url = f"{events_server.url}/events/dashboard/"
    refused = EventStreamClient(
        url, headers={"Host": host}, cookies=session_cookie(staff_only, host)
    )
    stream = EventStreamClient(url, headers={"Host": host}, cookies=session_cookie(manager, host))
    try:
        stream.next_of("stream.open")
        _in(clinic_a, event_record, kind="probe.dashboard", data={})
        changed = stream.next_of("clinic.changed")
    finally:
        stream.close()
    assert refused.status_code == 403
    assert changed[1] == {
        "kind": "clinic.changed",
        "clinic": "clinic_a",
        "kinds": ["probe.dashboard"],
    }


def test_a_panel_stream_ends_when_the_key_is_rotated(events_server, clinic_a):
    from django_tenants.utils import schema_context

    from queueing.models import Panel

    def default_panel_hash(new_hash: str | None = None) -> str:
        with schema_context(clinic_a.schema_name):
            panel = Panel.objects.get(is_default=True)
            old = panel.key_hash
            if new_hash is not None:
                Panel.objects.filter(pk=panel.pk).update(key_hash=new_hash)
            return old

    stream = _panel_stream(events_server, clinic_a, clinic_a.panel_key)
    try:
        stream.next_of("stream.open")
        # A new key for the panel: the stream's key no longer opens it.
        old_hash = committed(default_panel_hash, "0" * 64)
        refused = stream.next_of("stream.refused", timeout=8)
    finally:
        committed(default_panel_hash, old_hash)
        stream.close()
    assert refused is not None and refused[1]["kind"] == "stream.refused"


def test_the_web_process_does_not_serve_streams(clinic_a):
    answer = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a)).get(
        "/events/panel/", HTTP_X_PANEL_KEY=clinic_a.panel_key
    )
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "stream_not_served_here"


def test_a_last_event_id_beyond_the_clinics_newest_starts_from_now(events_server, clinic_a):
    newest = committed(lambda: _newest(clinic_a))
    stream = _panel_stream(
        events_server, clinic_a, clinic_a.panel_key, **{"Last-Event-ID": "9" * 12}
    )
    try:
        opened = stream.next_of("stream.open")
    finally:
        stream.close()
    assert opened[1]["last_id"] == newest


def _newest(clinic) -> int:
    with clinic:
        return event_last_id()
