"""The patient status page's live stream, served by a real uvicorn process.

The page's first poll leaves the ticket's token in an HttpOnly cookie sent only to
`/events/status/<ticket id>/`; the stream checks it and sends that ticket's events.
"""

import time

import pytest
from django.core import signing
from django.test import Client

from queueing.models import Ticket
from queueing.services import workflow
from queueing.status_token import ticket_status_token
from tenants.selectors import clinic_hostname
from tests.events.conftest import EventStreamClient, committed
from tests.events.test_live_streams import _in, _queue_clean
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


def _queue_and_transfers_clean(clinic) -> None:
    with clinic:
        Ticket.objects.update(transferred_from=None)  # the link protects the closed ticket
    _queue_clean(clinic)


@pytest.fixture
def queue_a(clinic_a):
    yield clinic_a
    committed(_queue_and_transfers_clean, clinic_a)


def _poll(clinic, token: str):
    """The status page's first poll: its answer sets the stream's cookie."""
    browser = Client(HTTP_HOST=clinic_hostname(clinic=clinic))
    return browser.post("/s/state/", {"token": token}, content_type="application/json")


def _cookie_of(clinic, ticket) -> tuple[str, str, str]:
    """(name, value, path) of the cookie a genuine first poll of the ticket's link leaves."""
    token = _in(clinic, ticket_status_token, ticket=ticket)
    answer = _poll(clinic, token)
    assert answer.status_code == 200
    [(name, cookie)] = answer.cookies.items()
    return name, cookie.value, cookie["path"]


def _stream(server, clinic, path: str, cookies: dict[str, str]) -> EventStreamClient:
    return EventStreamClient(
        f"{server.url}{path}", headers={"Host": clinic_hostname(clinic=clinic)}, cookies=cookies
    )


def test_a_desk_call_reaches_the_status_page_stream_of_that_ticket_only(events_server, queue_a):
    def setup():
        svc = f.reception()
        return f.desk("Guichê 1", svc), f.desk("Guichê 2", svc), f.waiting(svc), f.waiting(svc)

    first_desk, desk, _ahead, mine = _in(queue_a, setup)
    name, value, path = _cookie_of(queue_a, mine)
    assert path == f"/events/status/{mine.pk}/"
    stream = _stream(events_server, queue_a, path, {name: value})
    try:
        assert stream.status_code == 200
        assert stream.next_of("stream.open") is not None
        _in(queue_a, workflow.ticket_call_next, desk_id=first_desk.pk)  # the ticket ahead
        _in(queue_a, workflow.ticket_call_next, desk_id=desk.pk)  # this one
        message = stream.next_of("ticket.called")
    finally:
        stream.close()
    _id, data, _at = message
    assert (data["ticket_id"], data["data"]["desk"]) == (mine.pk, "Guichê 2")
    assert data["data"]["display_code"] == mine.display_code
    # The other patient's call never reached this phone
    assert stream.kinds_seen.count("ticket.called") == 1


def test_a_transferred_tickets_stream_follows_the_new_ticket(events_server, queue_a):
    def setup():
        reception, triage = f.reception(), f.service("Triagem", "T")
        ticket = f.waiting(reception)
        workflow.ticket_call_next(desk_id=f.desk("Guichê 1", reception).pk)
        workflow.ticket_start(ticket_id=ticket.pk)
        new = workflow.ticket_transfer(ticket_id=ticket.pk, service_id=triage.pk)
        return ticket, new, f.desk("Triagem 1", triage)

    ticket, new, triage_desk = _in(queue_a, setup)
    name, value, path = _cookie_of(queue_a, ticket)  # the link printed on the first ticket
    stream = _stream(events_server, queue_a, path, {name: value})
    try:
        stream.next_of("stream.open")
        _in(queue_a, workflow.ticket_call_next, desk_id=triage_desk.pk)
        message = stream.next_of("ticket.called")
    finally:
        stream.close()
    assert message is not None
    assert (message[1]["ticket_id"], message[1]["data"]["desk"]) == (new.pk, "Triagem 1")


def test_a_cookie_of_another_ticket_or_another_clinic_is_refused(events_server, queue_a, clinic_b):
    def setup():
        svc = f.reception()
        return f.waiting(svc), f.waiting(svc)

    mine, other = _in(queue_a, setup)
    name, value, path = _cookie_of(queue_a, mine)
    other_path = f"/events/status/{other.pk}/"
    refused = {
        # my token under the other ticket's cookie name, on its stream
        "another ticket": _stream(
            events_server, queue_a, other_path, {f"clinico_ticket_{other.pk}": value}
        ),
        "no cookie": _stream(events_server, queue_a, path, {}),
        # the same ticket id on another clinic's host: the token names clinic A
        "another clinic": _stream(events_server, clinic_b, path, {name: value}),
        "forged": _stream(events_server, queue_a, path, {name: value[:-4] + "AAAA"}),
    }
    assert {what: s.status_code for what, s in refused.items()} == dict.fromkeys(refused, 403)
    assert refused["another clinic"].response.json()["errors"][0]["code"] == (
        "status_cookie_invalid"
    )
    # The stream never needs the token in its URL: a query string is not read
    by_url = _stream(events_server, queue_a, f"{path}?token={value}", {})
    assert by_url.status_code == 403


def test_a_status_stream_of_an_ended_token_answers_gone(events_server, queue_a):
    mine = _in(queue_a, lambda: f.waiting(f.reception()))
    ended = signing.Signer(salt="clinico.ticket-status").sign_object(
        [queue_a.schema_name, mine.pk, 1_000_000]
    )
    path = f"/events/status/{mine.pk}/"
    stream = _stream(events_server, queue_a, path, {f"clinico_ticket_{mine.pk}": ended})
    assert stream.status_code == 410
    assert stream.response.json()["errors"][0]["code"] == "ticket_ended"


def test_an_open_status_stream_ends_when_the_reset_ends_its_token(events_server, queue_a):
    mine = _in(queue_a, lambda: f.waiting(f.reception()))
    # a link whose day closes in two seconds (the test process's heartbeat is 1 s: the stream
    # checks its cookie every fourth one)
    ending = signing.Signer(salt="clinico.ticket-status").sign_object(
        [queue_a.schema_name, mine.pk, int(time.time()) + 2]
    )
    path = f"/events/status/{mine.pk}/"
    stream = _stream(events_server, queue_a, path, {f"clinico_ticket_{mine.pk}": ending})
    try:
        assert stream.next_of("stream.open") is not None
        refused = stream.next_of("stream.refused", timeout=10)
    finally:
        stream.close()
    assert refused is not None


def test_the_web_process_does_not_serve_the_status_stream(clinic_a):
    with clinic_a:
        mine = f.waiting(f.reception())
        token = ticket_status_token(ticket=mine)
    browser = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    browser.cookies[f"clinico_ticket_{mine.pk}"] = token
    answer = browser.get(f"/events/status/{mine.pk}/")
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "stream_not_served_here"
