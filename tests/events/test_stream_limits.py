"""A stream lasts only as long as its credential, and no one credential or address holds many.

A real events process with short timers: heartbeats every second, credentials checked again
every 2 s by the clock, at most 3 streams per credential and 8 in the process.
"""

import contextlib
import datetime
import os
import threading
import time

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from events.services import event_record
from tenants.selectors import clinic_hostname
from tests.events.conftest import (
    EventStreamClient,
    committed,
    events_env,
    session_cookie,
    uvicorn_command,
)
from tests.processes import ROOT, answers_health, free_port, process_running

pytestmark = pytest.mark.django_db

PER_CREDENTIAL, PROCESS_MAX = 3, 8


@pytest.fixture(scope="module")
def limited_events(django_db_setup):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **events_env(),
        "CLINICO_EVENTS_RECHECK_SECONDS": "2",
        "CLINICO_EVENTS_STREAMS_PER_CREDENTIAL": str(PER_CREDENTIAL),
        "CLINICO_EVENTS_MAX_STREAMS": str(PROCESS_MAX),
    }
    with process_running(
        uvicorn_command(port),
        env=env,
        log_path=ROOT / ".run" / f"events-limits-{os.getpid()}-{port}.log",
        ready=lambda: answers_health(url),
        what="the events process",
    ):
        yield url


def _panel(url: str, clinic) -> EventStreamClient:
    return EventStreamClient(
        f"{url}/events/panel/",
        headers={"Host": clinic_hostname(clinic=clinic), "X-Panel-Key": clinic.panel_key},
    )


def _console(url: str, clinic, cookie: dict) -> EventStreamClient:
    host = clinic_hostname(clinic=clinic)
    return EventStreamClient(f"{url}/events/console/", headers={"Host": host}, cookies=cookie)


class Busy(threading.Thread):
    """Commits an event in the clinic every 0.3 s: a clinic whose stream is never silent."""

    def __init__(self, clinic):
        super().__init__(daemon=True)
        self.clinic, self.running = clinic, True

    def run(self) -> None:
        while self.running:

            def record():
                with self.clinic:
                    event_record(kind="desk.opened", data={})

            committed(record)
            time.sleep(0.3)


def _refused_while_busy(stream: EventStreamClient, clinic, change) -> bool:
    busy = Busy(clinic)
    try:
        assert stream.next_of("stream.open") is not None
        busy.start()
        change()
        return stream.next_of("stream.refused", timeout=10) is not None
    finally:
        busy.running = False
        busy.join()
        stream.close()


def test_a_signed_out_console_ends_its_stream_even_while_the_clinic_is_busy(
    limited_events, clinic_a, staff
):
    member = staff(clinic_a, "receptionist")
    cookie = session_cookie(member, clinic_hostname(clinic=clinic_a))
    stream = _console(limited_events, clinic_a, cookie)
    key = next(iter(cookie.values()))
    assert _refused_while_busy(
        stream, clinic_a, lambda: committed(Session.objects.filter(session_key=key).delete)
    )


def test_an_expired_session_ends_its_console_stream(limited_events, clinic_a, staff):
    member = staff(clinic_a, "receptionist")
    cookie = session_cookie(member, clinic_hostname(clinic=clinic_a))
    key = next(iter(cookie.values()))
    past = timezone.now() - datetime.timedelta(minutes=1)

    def expire():
        Session.objects.filter(session_key=key).update(expire_date=past)

    assert _refused_while_busy(
        _console(limited_events, clinic_a, cookie), clinic_a, lambda: committed(expire)
    )


def test_a_new_password_ends_the_console_streams_of_the_old_one(limited_events, clinic_a, staff):
    member = staff(clinic_a, "clinician")
    cookie = session_cookie(member, clinic_hostname(clinic=clinic_a))

    def new_password():
        member.set_password("uma-senha-nova-e-longa")
        member.save(update_fields=["password"])

    assert _refused_while_busy(
        _console(limited_events, clinic_a, cookie), clinic_a, lambda: committed(new_password)
    )


def test_a_deactivated_account_ends_its_console_stream(limited_events, clinic_a, staff):
    member = staff(clinic_a, "receptionist")
    cookie = session_cookie(member, clinic_hostname(clinic=clinic_a))

    def deactivate():
        type(member).objects.filter(pk=member.pk).update(is_active=False)

    assert _refused_while_busy(
        _console(limited_events, clinic_a, cookie), clinic_a, lambda: committed(deactivate)
    )


def test_one_panel_key_holds_a_few_streams_and_the_next_is_told_to_wait(limited_events, clinic_b):
    streams = [_panel(limited_events, clinic_b) for _ in range(PER_CREDENTIAL)]
    try:
        for stream in streams:
            assert stream.next_of("stream.open") is not None
        extra = _panel(limited_events, clinic_b)
        body = extra.response.json()
        extra.close()
    finally:
        for stream in streams:
            stream.close()
    assert extra.status_code == 429
    assert int(extra.headers["Retry-After"]) > 0
    assert body["errors"][0]["code"] == "too_many_streams"
    time.sleep(0.5)  # the process notices they have gone: the key opens a stream again
    again = _panel(limited_events, clinic_b)
    try:
        assert again.status_code == 200 and again.next_of("stream.open") is not None
    finally:
        again.close()


def test_a_full_events_process_answers_503_with_retry_after(
    limited_events, clinic_a, clinic_b, clinic_c, staff
):
    streams = []
    try:
        for clinic in (clinic_a, clinic_b, clinic_c):
            for _ in range(PER_CREDENTIAL if clinic is not clinic_c else 2):
                streams.append(_panel(limited_events, clinic))
        for stream in streams:
            assert stream.status_code == 200 and stream.next_of("stream.open") is not None
        member = staff(clinic_a, "receptionist")
        cookie = session_cookie(member, clinic_hostname(clinic=clinic_a))
        full = _console(limited_events, clinic_a, cookie)
        full.close()
    finally:
        for stream in streams:
            stream.close()
    assert len(streams) == PROCESS_MAX
    assert full.status_code == 503 and int(full.headers["Retry-After"]) > 0


def _raw(url: str, request: bytes, timeout: float = 5.0) -> bytes:
    """What the events process answers first to `request`, sent raw."""
    import socket

    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        answer = sock.recv(65536)
        sock.settimeout(1)
        with contextlib.suppress(TimeoutError):
            while b"}" not in answer and (more := sock.recv(65536)):
                answer += more  # the body may come after the head
        return answer


def test_requests_announcing_a_body_never_take_the_slots_streams_open_through(
    limited_events, clinic_a
):
    import socket

    host, port = limited_events.removeprefix("http://").split(":")
    stalled = []
    try:
        for _ in range(12):  # more than the opening slots: each announces a body it never sends
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"GET /events/panel/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            stalled.append(sock)
        answers = [sock.recv(4096) for sock in stalled]
        stream = _panel(limited_events, clinic_a)
        try:
            opened = stream.next_of("stream.open", timeout=5)
        finally:
            stream.close()
    finally:
        for sock in stalled:
            sock.close()
    assert all(answer.startswith(b"HTTP/1.1 400") for answer in answers), answers[0]
    assert stream.status_code == 200 and opened is not None


def test_the_events_process_serves_the_streams_only(limited_events, clinic_a):
    host = clinic_hostname(clinic=clinic_a).encode()
    for path in (b"/api/v1/me/", b"/login/", b"/api/v1/auth/token/"):
        answer = _raw(limited_events, b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 404"), answer[:80]
        assert b"stream_not_served_here" in answer
    posted = _raw(
        limited_events,
        b"POST /events/panel/ HTTP/1.1\r\nHost: " + host + b"\r\nContent-Length: 0\r\n\r\n",
    )
    assert posted.startswith(b"HTTP/1.1 405") and b"method_not_allowed" in posted


def test_a_panel_of_a_busy_clinic_still_gets_its_heartbeats(limited_events, clinic_c):
    # The clinic's stream is never silent (events the panel does not show), the panel's is.
    stream = _panel(limited_events, clinic_c)
    busy = Busy(clinic_c)
    try:
        assert stream.next_of("stream.open") is not None
        busy.start()
        beats = [stream.next_of("stream.heartbeat", timeout=3) for _ in range(3)]
    finally:
        busy.running = False
        busy.join()
        stream.close()
    assert all(beat is not None for beat in beats)


def test_a_panel_stream_ends_when_what_the_panel_shows_changes(limited_events, clinic_b):
    from queueing.models import Desk, Service
    from queueing.services.setup import desk_create

    def new_desk():
        with clinic_b:
            service = Service.objects.get(is_default=True)
            return desk_create(name="Guichê Novo", service_ids=[service.pk]).pk

    def remove(desk_id):
        with clinic_b:
            Desk.objects.filter(pk=desk_id).delete()

    stream = _panel(limited_events, clinic_b)
    desk_id = None
    try:
        assert stream.next_of("stream.open") is not None
        desk_id = committed(new_desk)  # a desk opens: the TV's page opens its stream again
        refused = stream.next_of("stream.refused", timeout=8)
    finally:
        stream.close()
        if desk_id is not None:
            committed(remove, desk_id)
    assert refused is not None


@pytest.fixture(scope="module")
def two_per_address(django_db_setup):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**events_env(), "CLINICO_EVENTS_STREAMS_PER_ADDRESS": "2"}
    with process_running(
        uvicorn_command(port),
        env=env,
        log_path=ROOT / ".run" / f"events-address-{os.getpid()}-{port}.log",
        ready=lambda: answers_health(url),
        what="the events process",
    ):
        yield url


def test_a_client_cannot_name_its_own_address_to_escape_the_per_address_limit(
    two_per_address, clinic_a, clinic_b, clinic_c
):
    streams = [
        EventStreamClient(
            f"{two_per_address}/events/panel/",
            headers={
                "Host": clinic_hostname(clinic=clinic),
                "X-Panel-Key": clinic.panel_key,
                "X-Forwarded-For": f"198.51.100.{n}",
            },
        )
        for n, clinic in enumerate((clinic_a, clinic_b, clinic_c))
    ]
    try:
        statuses = [stream.status_code for stream in streams]
    finally:
        for stream in streams:
            stream.close()
    assert statuses == [200, 200, 429]
