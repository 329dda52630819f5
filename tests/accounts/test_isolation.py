"""The isolation matrix: every clinic endpoint, every method, tokens from elsewhere refused.

The endpoint list is read from the clinic host's URLconf, so endpoints added later are covered
without touching this file (and fail until tests/accounts/answers.py says what they answer).
Where a token is allowed, the call must do its job: the body tests/accounts/answers.py expects.
"""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import SAFE_METHODS
from rest_framework.views import APIView

from accounts.models import ClinicMembership
from tests.accounts.answers import Caller, call_for
from tests.accounts.conftest import (
    assert_refused,
    bearer,
    host_client,
    manager,
    partner,
    sign_in,
    staff,
)

pytestmark = pytest.mark.django_db

SAMPLE_VALUES = {"int": "1", "uuid": str(uuid.UUID(int=1)), "str": "x", "slug": "x", "path": "x"}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.callback


def _concrete(route: str) -> str:
    """`tickets/<int:ticket_id>/` as a URL with sample values."""
    import re

    return "/" + re.sub(
        r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_VALUES.get(m.group(1) or "str", "x"), route
    )


def clinic_api_endpoints() -> list[tuple[str, str, type]]:
    """(method, url, view class) of every DRF endpoint of the clinic host that takes a token."""
    endpoints = []
    for route, callback in _walk(get_resolver("clinico.urls_tenant").url_patterns):
        view = getattr(callback, "cls", None)
        if view is None or not issubclass(view, APIView) or not route.startswith("api/v1/"):
            continue
        if view.authentication_classes == []:  # sign-in endpoints: tested in test_tokens.py
            continue
        for method in HTTP_METHODS:
            if hasattr(view, method):
                endpoints.append((method.upper(), _concrete(route), view))
    return endpoints


ENDPOINTS = clinic_api_endpoints()
IDS = [f"{method} {url}" for method, url, _view in ENDPOINTS]


def _call(client, method: str, url: str):
    return getattr(client, method.lower())(url, {}, format="json")


def test_the_matrix_covers_the_clinic_endpoints():
    urls = {url for _m, url, _v in ENDPOINTS}
    assert {"/api/v1/me/", "/api/v1/staff/"} <= urls
    assert len(urls) >= 3


@pytest.fixture
def staff_a(clinic_a, clinic_b) -> Caller:
    """A clinic-A admin who is also receptionist at B: only the token's clinic may matter."""
    user = staff(clinic_a, "clinic_admin")
    ClinicMembership.objects.create(user=user, clinic=clinic_b, role="receptionist")
    return Caller("clinic_admin", sign_in(user, clinic_a)["access"], email=user.email)


@pytest.fixture
def staff_a_access(staff_a) -> str:
    return staff_a.access


@pytest.mark.parametrize("method, url, view", ENDPOINTS, ids=IDS)
def test_a_clinic_a_staff_token_is_refused_at_clinic_b(
    clinic_a, clinic_b, staff_a, method, url, view
):
    call = call_for(method, url, clinic=clinic_a, caller=staff_a)

    at_b = _call(bearer(host_client(clinic_b), staff_a.access), method, url)
    at_a = bearer(host_client(clinic_a), staff_a.access)
    at_a = getattr(at_a, method.lower())(call.url, call.data, format="json")

    assert_refused(at_b, "token_scope_mismatch")
    call.check(at_a)


def test_a_clinic_staff_token_is_refused_on_the_public_host_and_by_the_chain_api(
    clinic_a, staff_a_access
):
    me = bearer(host_client(), staff_a_access).get("/api/v1/me/")
    chains = bearer(host_client(), staff_a_access).get("/api/v1/chains/")

    assert_refused(me, "token_scope_mismatch")
    assert_refused(chains, "token_scope_mismatch")


@pytest.fixture
def sol_manager(clinic_a) -> Caller:
    user = manager(clinic_a.chain)
    return Caller("chain_manager", sign_in(user)["access"], email=user.email)


@pytest.fixture
def sol_manager_access(sol_manager) -> str:
    return sol_manager.access


@pytest.mark.parametrize("method, url, view", ENDPOINTS, ids=IDS)
def test_a_manager_token_is_refused_at_another_chains_clinic(
    clinic_c, sol_manager_access, method, url, view
):
    response = _call(bearer(host_client(clinic_c), sol_manager_access), method, url)

    assert_refused(response, "token_scope_mismatch")


WRITE_ENDPOINTS = [(m, u, v) for m, u, v in ENDPOINTS if m not in SAFE_METHODS]
WRITE_IDS = [f"{m} {u}" for m, u, _v in WRITE_ENDPOINTS]
READ_ENDPOINTS = [
    (m, u, v) for m, u, v in ENDPOINTS if m == "GET" and getattr(v, "manager_access", False)
]


@pytest.mark.parametrize(
    "method, url, view", READ_ENDPOINTS, ids=[f"{m} {u}" for m, u, _v in READ_ENDPOINTS]
)
def test_a_manager_token_reads_every_clinic_of_its_chain(
    clinic_a, clinic_b, sol_manager, method, url, view
):
    for clinic in (clinic_a, clinic_b):
        call = call_for(method, url, clinic=clinic, caller=sol_manager)
        client = bearer(host_client(clinic), sol_manager.access)

        call.check(client.get(call.url, call.data, format="json"))


@pytest.mark.parametrize("method, url, view", WRITE_ENDPOINTS, ids=WRITE_IDS)
def test_a_manager_token_never_writes_at_a_clinic(clinic_a, sol_manager_access, method, url, view):
    response = _call(bearer(host_client(clinic_a), sol_manager_access), method, url)

    assert response.status_code == 403, response.content


@pytest.fixture
def partner_a_read(clinic_a) -> str:
    return partner([clinic_a], scope="read")[1]


@pytest.mark.parametrize("method, url, view", ENDPOINTS, ids=IDS)
def test_a_partner_token_is_refused_at_clinics_not_granted_to_it(
    clinic_b, clinic_c, partner_a_read, method, url, view
):
    for clinic in (clinic_b, clinic_c):
        response = _call(bearer(host_client(clinic), partner_a_read), method, url)
        assert_refused(response, "token_scope_mismatch")


@pytest.mark.parametrize("method, url, view", WRITE_ENDPOINTS, ids=WRITE_IDS)
def test_a_read_partner_never_writes(clinic_a, partner_a_read, method, url, view):
    response = _call(bearer(host_client(clinic_a), partner_a_read), method, url)

    assert response.status_code == 403, response.content
