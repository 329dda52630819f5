"""The host cache of a process: bounded, never emptied by unknown hosts, brief on misses."""

import pytest
from cachetools import TTLCache
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants import selectors
from tenants.selectors import clinic_for_host, clinic_host_cache_clear, clinic_hostname
from tenants.services import clinic_update_settings

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clean_cache():
    clinic_host_cache_clear()
    yield
    clinic_host_cache_clear()


def _domain_queries(hostname: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        clinic_for_host(hostname=hostname)
    return len(captured.captured_queries)


def test_a_flood_of_unknown_hosts_never_evicts_a_known_clinic(clinic_a, clean_cache):
    host = clinic_hostname(clinic=clinic_a)
    assert clinic_for_host(hostname=host) == clinic_a
    for n in range(selectors.HOST_CACHE_MAX_UNKNOWN * 2):
        selectors._UNKNOWN_HOSTS[f"random{n}.{settings.BASE_DOMAIN}"] = True
    assert len(selectors._UNKNOWN_HOSTS) == selectors.HOST_CACHE_MAX_UNKNOWN
    assert _domain_queries(host) == 0  # still served from the cache


def test_unknown_hosts_are_remembered_briefly_then_looked_up_again(
    clinic_a, clean_cache, monkeypatch
):
    clock = Clock()
    monkeypatch.setattr(
        selectors,
        "_UNKNOWN_HOSTS",
        TTLCache(maxsize=10, ttl=selectors.UNKNOWN_HOST_CACHE_SECONDS, timer=clock),
    )
    host = f"nowhere.{settings.BASE_DOMAIN}"
    assert (_domain_queries(host), _domain_queries(host)) == (1, 0)
    clock.now += selectors.UNKNOWN_HOST_CACHE_SECONDS + 0.1
    assert _domain_queries(host) == 1
    assert selectors.UNKNOWN_HOST_CACHE_SECONDS <= 5


def test_deactivating_a_clinic_answers_404_at_once_in_the_same_process(
    clinic_a, clinic_b, clean_cache, django_capture_on_commit_callbacks
):
    host, other = clinic_hostname(clinic=clinic_a), clinic_hostname(clinic=clinic_b)
    assert Client(HTTP_HOST=host).get("/api/schema/").status_code == 200
    clinic_for_host(hostname=other)
    with django_capture_on_commit_callbacks(execute=True):
        clinic_update_settings(clinic=clinic_a, is_active=False)
    response = Client(HTTP_HOST=host).get("/api/schema/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "clinic_inactive"
    assert _domain_queries(other) == 0  # only the changed clinic's host was forgotten
