"""A stream lasts only as long as its credential, and no one credential or address holds many.

A real events process with short timers: heartbeats every second, credentials checked again
every 2 s by the clock, at most 3 streams per credential and 8 in the process.
"""

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
