"""Fixtures shared by the whole suite.

Clinic schemas are costly, so the demo-like clinics are provisioned once per test run (session
scope) and kept; each test's own writes are rolled back (`db`) or cleaned by `clean_clinics`.
"""

import pytest
from django.db import connection
from django_tenants.utils import schema_exists
from rest_framework.test import APIClient

from accounts.models import RateCounter
from tenants.models import Chain, Clinic
from tenants.schema import template_schema_ensure
from tenants.selectors import clinic_host_cache_clear, clinic_hostname
from tenants.services import chain_create, clinic_provision

CLINICS = {
    # slug: (chain slug, name, timezone)
    "clinic_a": ("rede_sol", "Clínica Sol Paulista", "America/Sao_Paulo"),
    "clinic_b": ("rede_sol", "Clínica Sol Manaus", "America/Manaus"),
    "clinic_c": ("rede_lua", "Clínica Lua Centro", "America/Sao_Paulo"),
}
CHAINS = {"rede_sol": "Rede Sol", "rede_lua": "Rede Lua"}


def clinic_ensure(slug: str) -> Clinic:
    """The clinic `slug`, provisioned if missing (a transactional test's flush removes its row)."""
    connection.set_schema_to_public()
    clinic = Clinic.objects.filter(schema_name=slug).first()
    if clinic is not None:
        return clinic
    chain_slug, name, tz = CLINICS[slug]
    chain = Chain.objects.filter(slug=chain_slug).first() or chain_create(
        name=CHAINS[chain_slug], slug=chain_slug
    )
    if schema_exists(slug):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{slug}" CASCADE')
    clinic_host_cache_clear()
    return clinic_provision(chain=chain, name=name, slug=slug, timezone=tz)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, its clinic template schema and the clinics every test may use."""
    with django_db_blocker.unblock():
        template_schema_ensure()
        for slug in CLINICS:
            clinic_ensure(slug)


def _clinic_fixture(slug: str):
    @pytest.fixture
    def fixture(django_db_setup, django_db_blocker) -> Clinic:
        with django_db_blocker.unblock():
            clinic = clinic_ensure(slug)
        yield clinic
        connection.set_schema_to_public()

    return fixture


clinic_a = _clinic_fixture("clinic_a")
clinic_b = _clinic_fixture("clinic_b")
clinic_c = _clinic_fixture("clinic_c")


@pytest.fixture
def public_client() -> APIClient:
    """An API client speaking to the public host."""
    from django.conf import settings

    return APIClient(HTTP_HOST=settings.BASE_DOMAIN)


def client_for(clinic: Clinic) -> APIClient:
    return APIClient(HTTP_HOST=clinic_hostname(clinic=clinic))


@pytest.fixture
def client_a(clinic_a) -> APIClient:
    return client_for(clinic_a)


@pytest.fixture
def client_b(clinic_b) -> APIClient:
    return client_for(clinic_b)


@pytest.fixture
def jwt_client():
    """Factory: an APIClient on `clinic`'s host holding a real staff JWT for a new `role` member.

    Signs in through POST /api/v1/auth/token/, so the request passes the same scope checks as
    production (use `force_authenticate` when the token is beside the point).
    """
    import itertools

    from accounts.models import ClinicMembership, User

    numbers = itertools.count(1)

    def make(clinic: Clinic, role: str = "receptionist") -> APIClient:
        email = f"jwt-{role}-{next(numbers)}@{clinic.schema_name.replace('_', '-')}.test"
        user = User.objects.create_user(email, "jwt-pass-123456")
        ClinicMembership.objects.create(user=user, clinic=clinic, role=role)
        client = client_for(clinic)
        response = client.post(
            "/api/v1/auth/token/", {"email": email, "password": "jwt-pass-123456"}, format="json"
        )
        assert response.status_code == 200, response.content
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
        return client

    return make


@pytest.fixture
def minute_start():
    """The test starts a clock minute (time runs on from there).

    Rate limits count per clock minute: a test that fails a few sign-ins and expects the next
    one refused must not see the minute roll over in between.
    """
    import time

    import time_machine

    with time_machine.travel((int(time.time()) // 60 + 1) * 60 + 0.2, tick=True):
        yield


@pytest.fixture(autouse=True)
def _rate_counters_cleared(request):
    """Sign-in and patient look-up counts (a shared table) start empty in each database test."""
    if request.node.get_closest_marker("django_db") is None:
        yield
        return
    RateCounter.objects.all().delete()
    yield
    RateCounter.objects.all().delete()
