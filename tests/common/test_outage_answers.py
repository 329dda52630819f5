"""An unreachable database or broker answers 503 with Retry-After, not 500; a bug still 500.

The failures here are real: a connection to a port where nothing listens, a statement that
PostgreSQL cancels. The whole path (a web process whose database goes away in the middle of a
burst of check-ins) is in tests/integration/test_database_outage.py.
"""

import json
import socket

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.test import RequestFactory
from drf_standardized_errors.handler import exception_handler
from kombu import Connection
from kombu.exceptions import OperationalError as BrokerOperationalError

from common.errors import handler500, is_database_outage

# Connecting to a database, even one that is not there, needs pytest-django's permission.
pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _unreachable_database_error() -> OperationalError:
    settings_dict = {**connections["default"].settings_dict, "PORT": _closed_port()}
    unreachable = type(connections["default"])(settings_dict, alias="unreachable")
    try:
        unreachable.ensure_connection()
    except OperationalError as error:
        return error
    raise AssertionError("a connection to a closed port succeeded")


def _unreachable_broker_error() -> BrokerOperationalError:
    broker = Connection(f"amqp://guest:guest@127.0.0.1:{_closed_port()}//", connect_timeout=1)
    try:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=1)
    except BrokerOperationalError as error:
        return error
    finally:
        broker.release()
    raise AssertionError("a connection to a closed port succeeded")


def _answer(error: Exception):
    return exception_handler(error, {"view": None, "request": None})


def test_an_unreachable_database_answers_503_with_retry_after_and_the_error_body():
    response = _answer(_unreachable_database_error())

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.data["type"] == "server_error"
    assert [(e["code"], e["attr"]) for e in response.data["errors"]] == [
        ("database_unavailable", None)
    ]


def test_an_unreachable_broker_answers_503_naming_the_broker():
    response = _answer(_unreachable_broker_error())

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.data["errors"][0]["code"] == "broker_unavailable"


def test_a_statement_that_fails_is_a_server_error_not_an_outage():
    with (
        pytest.raises(OperationalError) as failed,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL statement_timeout = 1")
        cursor.execute("SELECT pg_sleep(1)")

    assert not is_database_outage(failed.value)
    assert _answer(failed.value).status_code == 500


def test_a_page_or_middleware_that_meets_the_outage_answers_503():
    request = RequestFactory().get("/login/")
    api_request = RequestFactory().get("/api/v1/me/")
    error = _unreachable_database_error()

    try:
        raise error
    except OperationalError:
        page, api = handler500(request), handler500(api_request)

    assert (page.status_code, page["Retry-After"]) == (503, "5")
    assert page["Content-Type"].startswith("text/html")
    assert (api.status_code, api["Retry-After"]) == (503, "5")
    assert json.loads(api.content)["errors"][0]["code"] == "database_unavailable"


def test_any_other_exception_is_still_a_500():
    try:
        raise ZeroDivisionError
    except ZeroDivisionError:
        response = handler500(RequestFactory().get("/api/v1/me/"))

    assert response.status_code == 500
    assert json.loads(response.content)["errors"][0]["code"] == "error"
    assert not response.has_header("Retry-After")
