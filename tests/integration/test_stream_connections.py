"""More live screens than PostgreSQL has connections: every one opens, the database stays free.

A real events process (uvicorn, as deployed) serves panel streams of three clinics, opened all
at once, more of them than the test cluster's `max_connections`. Meanwhile a real web process
and a real worker check a patient in, and a sampler counts the events process's connections in
`pg_stat_activity` (its connections are named `clinico-events…`) and opens fresh connections
of its own. The bound checked is the one docs/events.md gives: one LISTEN connection, the read
pool and the opening slots.
"""

import asyncio
import json
import os
import threading
import time
import uuid
from collections import defaultdict

import psycopg2
import pytest
import requests
from django.db import connection

from events.services import event_record
from queueing.models import Desk, Service, Ticket
from queueing.services.setup import desk_create
from tenants.selectors import clinic_hostname
from tests.checkin_factories import cpf_from_number, new_patient_body, staff_user
from tests.database import database_url
from tests.events.conftest import committed, events_env, uvicorn_command
from tests.integration.conftest import RUN_DIR, all_queue_names, wait_until_processed
from tests.processes import answers_health, free_port, process_running

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POOL, SLOTS = 3, 4
BOUND = 1 + POOL + SLOTS  # docs/events.md: LISTEN + read pool + opening slots


@pytest.fixture(scope="module")
def events_process(django_db_setup):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **events_env(),
        "CLINICO_EVENTS_HEARTBEAT_SECONDS": "5",
        "CLINICO_EVENTS_DB_POOL": str(POOL),
        "CLINICO_EVENTS_OPENING_SLOTS": str(SLOTS),
        # The burst waits for its turn here rather than being told to come back.
        "CLINICO_EVENTS_OPENING_WAIT_SECONDS": "120",
        # Every screen of this test is on one address and three panels.
        "CLINICO_EVENTS_STREAMS_PER_CREDENTIAL": "100000",
        "CLINICO_EVENTS_STREAMS_PER_ADDRESS": "100000",
    }
    with process_running(
        uvicorn_command(port),
        env=env,
        log_path=RUN_DIR / f"events-connections-{os.getpid()}.log",
        ready=lambda: answers_health(url),
        what="the events process",
    ):
        yield url


def _admin_connection():
    db = connection.settings_dict
    admin = psycopg2.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None,
        dbname=db["NAME"], application_name="test-sampler",
    )  # fmt: skip
    admin.autocommit = True
    return admin


class Sampler(threading.Thread):
    """Counts the events process's connections, and tries a fresh connection, all along."""

    def __init__(self):
        super().__init__(daemon=True)
        self.admin = _admin_connection()
        self.counts: list[int] = []
        self.fresh_failures: list[str] = []
        self.running = True

    def count(self) -> int:
        with self.admin.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name LIKE 'clinico-events%%'"
            )
            return cursor.fetchone()[0]

    def run(self) -> None:
        tick = 0
        while self.running:
            self.counts.append(self.count())
            if tick % 5 == 0:
                try:
                    psycopg2.connect(database_url(), connect_timeout=5).close()
                except psycopg2.Error as error:
                    self.fresh_failures.append(str(error).strip())
            tick += 1
            time.sleep(0.05)

    def stop(self) -> None:
        self.running = False
        self.join(timeout=5)
        self.admin.close()


class Screens:
    """Panel streams held by one event loop in a thread, as the waiting rooms' TVs hold them."""

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.lock = threading.Lock()
        self.opened = 0
        self.refused: list[str] = []
        self.received: dict[str, set[int]] = defaultdict(set)  # event kind -> screens
        self.writers: list[asyncio.StreamWriter] = []

    def open(self, panels: list[tuple[str, str]]) -> None:
        for index, (host, key) in enumerate(panels):
            asyncio.run_coroutine_threadsafe(self._stream(index, host, key), self.loop)

    async def _stream(self, index: int, host: str, key: str) -> None:
        reader, writer = await asyncio.open_connection(*self.address)
        self.writers.append(writer)
        request = f"GET /events/panel/ HTTP/1.1\r\nHost: {host}\r\nX-Panel-Key: {key}\r\n\r\n"
        writer.write(request.encode())
        status = await reader.readline()
        if b" 200 " not in status:
            with self.lock:
                self.refused.append(status.decode(errors="replace").strip())
            return
        while (line := await reader.readline()) not in (b"\r\n", b""):
            pass
        buffer = b""
        while chunk := await reader.read(65536):
            buffer += chunk
            while b"\n\n" in buffer:
                message, buffer = buffer.split(b"\n\n", 1)
                for line in message.decode(errors="replace").splitlines():
                    if "data: {" not in line:
                        continue
                    kind = json.loads(line[line.index("{") :]).get("kind")
                    with self.lock:
                        if kind == "stream.open":
                            self.opened += 1
                        self.received[kind].add(index)

    def wait(self, what, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            assert not self.refused, f"{len(self.refused)} refused, e.g. {self.refused[:3]}"
            assert time.monotonic() < deadline, f"{self.opened} streams open"
            time.sleep(0.1)

    def close(self) -> None:
        async def close_all():
            for writer in self.writers:
                writer.close()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _check_in_through_web_and_worker(web: str, clinic, token: str, number: int) -> None:
    answer = requests.post(
        f"{web}/api/v1/check-ins/",
        json=new_patient_body(cpf_from_number(number)),
        headers={
            "Host": clinic_hostname(clinic=clinic),
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        timeout=10,
    )
    assert answer.status_code == 202, answer.text[:300]


def test_more_screens_than_database_connections_all_open_and_the_database_stays_free(
    events_process, web, broker, start_worker, clinic_a, clinic_b, clinic_c
):
    broker.purge(all_queue_names())
    start_worker()
    clinics = [clinic_a, clinic_b, clinic_c]
    user = staff_user(clinic_a, "receptionist")
    token = requests.post(
        f"{web}/api/v1/auth/token/",
        json={"email": user.email, "password": "pw"},
        headers={"Host": clinic_hostname(clinic=clinic_a)},
        timeout=10,
    ).json()["access"]
    sampler = Sampler()
    with sampler.admin.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
    screens_count = max_connections + 30
    panels = [
        (clinic_hostname(clinic=clinic), clinic.panel_key)
        for n in range(screens_count)
        for clinic in [clinics[n % len(clinics)]]
    ]
    desks = {}
    for clinic in clinics:

        def desk_make(clinic=clinic):
            with clinic:
                service = Service.objects.get(is_default=True)
                return desk_create(name="Guichê Telas", service_ids=[service.pk]).pk

        desks[clinic.schema_name] = committed(desk_make)
    sampler.start()
    screens = Screens(events_process)
    try:
        screens.open(panels)  # all at once: a morning when every TV boots together
        _check_in_through_web_and_worker(web, clinic_a, token, 31_000_001)
        screens.wait(lambda: screens.opened == screens_count, timeout=180)

        # Events flow to every screen while all are open.
        for clinic in clinics:

            def called(clinic=clinic):
                with clinic:
                    desk_id = desks[clinic.schema_name]
                    event_record(kind="ticket.called", desk_id=desk_id, data={"code": "T001"})

            committed(called)
        screens.wait(lambda: len(screens.received["ticket.called"]) == screens_count, 60)
        _check_in_through_web_and_worker(web, clinic_a, token, 31_000_002)
        processed = wait_until_processed(clinic_a, expected=2)
        with clinic_a:
            assert Ticket.objects.filter(check_ins__in=processed).count() == 2
    finally:
        screens.close()
        for clinic in clinics:

            def desk_remove(clinic=clinic):
                with clinic:
                    Desk.objects.filter(pk=desks[clinic.schema_name]).delete()

            committed(desk_remove)
    time.sleep(2)  # the events process notices the screens have gone
    after = sampler.count()
    sampler.stop()

    assert screens.refused == []
    assert max(sampler.counts) <= BOUND, (max(sampler.counts), BOUND)
    assert sampler.fresh_failures == []
    assert after <= 1 + POOL  # no connection of a stream is left behind
