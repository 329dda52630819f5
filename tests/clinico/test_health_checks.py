"""Persistent connections are pinged before use unless they answered a moment ago."""

import psycopg2
import pytest
from django.db import connection

from clinico.postgresql import base as backend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pings(monkeypatch):
    calls = []
    real = connection.is_usable

    def counted():
        calls.append(1)
        return real()

    monkeypatch.setattr(connection, "is_usable", counted)
    return calls


def _new_request():
    connection.close_if_unusable_or_obsolete()  # what Django does at each request's start


def test_a_connection_that_just_answered_is_not_pinged(pings):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    _new_request()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")
    assert pings == []


def test_an_idle_connection_is_pinged(pings, monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    monkeypatch.setattr(connection, "_last_success", -backend.RECENTLY_USED_SECONDS * 10)
    _new_request()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")
    assert pings == [1]


def test_an_idle_connection_cut_by_the_server_is_replaced(monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    killer = psycopg2.connect(**{k: v for k, v in params.items() if k != "cursor_factory"})
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    monkeypatch.setattr(connection, "_last_success", -backend.RECENTLY_USED_SECONDS * 10)
    _new_request()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
