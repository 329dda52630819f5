"""The reconnect helper of long-running processes, against a real PostgreSQL that drops them."""

import time

import psycopg2
import pytest
from django.db import OperationalError, connection

from common.reconnect import database_retry, listen_connect, listen_open
from events.models import EVENTS_CHANNEL

pytestmark = pytest.mark.django_db(transaction=True)


def _terminate(backend_pid: int) -> None:
    """What a database restart does to one client: its server process ends."""
    admin = psycopg2.connect(**connection.get_connection_params())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
    admin.close()
    time.sleep(0.2)  # the server has closed the socket


def _one() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def test_a_read_after_the_server_dropped_the_connection_gets_a_new_one():
    connection.ensure_connection()
    old_pid = connection.connection.info.backend_pid
    _one()  # used just now: the health check would not even ping it
    _terminate(old_pid)

    assert database_retry(_one, what="test", delays=iter([0.1, 0.1])) == 1
    assert connection.connection.info.backend_pid != old_pid


def test_without_it_the_same_read_fails():
    connection.ensure_connection()
    _one()
    _terminate(connection.connection.info.backend_pid)

    with pytest.raises(OperationalError):
        _one()
    connection.close()


def test_a_lost_listening_connection_can_still_be_unwatched_and_closed():
    listening = listen_open(params=connection.get_connection_params(), channel=EVENTS_CHANNEL)
    fileno = listening.fileno()
    _terminate(listening.connection.info.backend_pid)

    with pytest.raises(psycopg2.OperationalError):  # the first poll may read the FATAL notice
        for _ in range(3):
            listening.notifications()
    assert listening.fileno() == fileno  # psycopg2's own raises on a closed connection
    listening.close()


def test_listening_is_retried_while_refused_until_told_to_stop(caplog):
    refused = {**connection.get_connection_params(), "port": 1}  # as while the server restarts
    asked = []

    def should_stop() -> bool:
        asked.append(1)
        return len(asked) > 6

    listening = listen_connect(
        params=refused, channel=EVENTS_CHANNEL, what="test", should_stop=should_stop
    )

    assert listening is None
    assert sum("cannot LISTEN" in r.getMessage() for r in caplog.records) >= 2


def test_a_listening_connection_hears_what_commits():
    listening = listen_connect(
        params=connection.get_connection_params(), channel=EVENTS_CHANNEL, what="test"
    )
    assert listening is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [EVENTS_CHANNEL, "clinic_a 1"])
    deadline = time.monotonic() + 5
    notes: list = []
    while not notes and time.monotonic() < deadline:
        notes = listening.notifications()
        time.sleep(0.05)
    listening.close()

    assert [note.payload for note in notes] == ["clinic_a 1"]
