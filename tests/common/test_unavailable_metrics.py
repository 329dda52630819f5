"""Every 503 for an outage is counted by its cause, whether a DRF view or a page met it."""

import pytest
from django.test import RequestFactory
from drf_standardized_errors.handler import exception_handler
from prometheus_client import REGISTRY

from common.errors import handler500
from tests.common.test_outage_answers import _unreachable_broker_error, _unreachable_database_error

pytestmark = pytest.mark.django_db


def _count(cause: str) -> float:
    return REGISTRY.get_sample_value("clinico_unavailable_answers_total", {"cause": cause}) or 0


def test_an_api_answer_to_an_unreachable_database_is_counted_as_database_unavailable():
    before = _count("database_unavailable"), _count("broker_unavailable")

    response = exception_handler(_unreachable_database_error(), {"view": None, "request": None})

    assert response.status_code == 503
    assert (_count("database_unavailable"), _count("broker_unavailable")) == (
        before[0] + 1,
        before[1],
    )


def test_a_page_answer_to_an_unreachable_broker_is_counted_as_broker_unavailable():
    before = _count("broker_unavailable")
    request = RequestFactory().get("/console/")
    try:
        raise _unreachable_broker_error()
    except Exception:  # noqa: BLE001 - handler500 reads the exception being handled
        response = handler500(request)

    assert response.status_code == 503
    assert _count("broker_unavailable") == before + 1


def test_a_bug_is_no_outage_and_is_not_counted():
    before = _count("database_unavailable") + _count("broker_unavailable")
    request = RequestFactory().get("/api/v1/queue/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = handler500(request)

    assert response.status_code == 500
    assert _count("database_unavailable") + _count("broker_unavailable") == before
