"""The request id: chosen by a trusted proxy or made here, and returned on every answer."""

import re

import pytest
from django.test import Client, override_settings

from tenants.selectors import clinic_hostname

pytestmark = pytest.mark.django_db

NEW_ID = re.compile(r"^[0-9a-f]{32}$")


def test_an_id_sent_by_a_client_that_is_no_trusted_proxy_is_replaced(clinic_a):
    client = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a), REMOTE_ADDR="203.0.113.7")

    answer = client.get("/healthz", HTTP_X_REQUEST_ID="chosen-by-the-client-1")

    assert answer["X-Request-ID"] != "chosen-by-the-client-1"
    assert NEW_ID.match(answer["X-Request-ID"])


@override_settings(CLINICO_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_an_id_sent_by_a_trusted_proxy_is_kept_and_returned(clinic_a):
    client = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a), REMOTE_ADDR="10.1.2.3")

    answer = client.get("/healthz", HTTP_X_REQUEST_ID="lb-8f14e45fceea167a")

    assert answer["X-Request-ID"] == "lb-8f14e45fceea167a"


@override_settings(CLINICO_TRUSTED_PROXIES=["10.0.0.0/8"])
@pytest.mark.parametrize("given", ["short", "has spaces in it", "x" * 200, "a\\nforged-line"])
def test_a_malformed_id_even_from_a_trusted_proxy_is_replaced(clinic_a, given):
    client = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a), REMOTE_ADDR="10.1.2.3")

    answer = client.get("/healthz", HTTP_X_REQUEST_ID=given)

    assert NEW_ID.match(answer["X-Request-ID"])


def test_every_answer_carries_an_id_an_unknown_host_and_an_error_too(clinic_a):
    unknown = Client(HTTP_HOST="nowhere.localhost").get("/api/v1/queue/")
    refused = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a)).get("/api/v1/queue/")
    one, two = (Client(HTTP_HOST="localhost").get("/healthz") for _ in range(2))

    assert unknown.status_code == 404 and NEW_ID.match(unknown["X-Request-ID"])
    assert refused.status_code == 401 and NEW_ID.match(refused["X-Request-ID"])
    assert one["X-Request-ID"] != two["X-Request-ID"]
