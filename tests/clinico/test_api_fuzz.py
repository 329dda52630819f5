"""The API against its own OpenAPI documents: schemathesis on both hosts, as each kind of caller.

For every operation of the clinic host (as a clinic admin, a chain manager and a partner) and of
the public host (as a chain manager and a partner), schemathesis sends the documented examples,
boundary values and generated requests, valid and invalid. Every answer must be below 500, with
a status code the document lists for the operation and a body that matches its schema.

The application runs in-process as a WSGI app, inside each test's transaction (nothing it writes
is kept). `make fuzz` runs it with many more examples (CLINICO_FUZZ_EXAMPLES).
"""

import functools
import json
import os

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tenants.selectors import clinic_hostname
from tests.accounts.conftest import host_client, manager, partner, sign_in, staff

DEFAULT_EXAMPLES = 4
EXAMPLES = int(os.environ.get("CLINICO_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
URLCONFS = {"clinic": "clinico.urls_tenant", "public": "clinico.urls_public"}
# A caller's token is made once per operation, not per example: nothing to reset between them.
HYPOTHESIS = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)


@functools.cache
def _document(urlconf: str) -> dict:
    return SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)


def _schema(host: str, *, coverage: bool):
    """The host's document as schemathesis tests it; `coverage` adds its boundary-value phase."""
    config = schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
                "allow-x00": True,
            },
            "phases": {"coverage": {"enabled": coverage}, "stateful": {"enabled": False}},
        }
    )
    return schemathesis.openapi.from_dict(_document(URLCONFS[host]), config=config)


# The documents are built as the docs views build them (test_the_served_documents_are_these
# checks that), at collection time: schemathesis makes one test per operation. The boundary
# values of every parameter and field (the coverage phase) are sent as the clinic admin, who
# passes the permission checks of the most operations; `make fuzz` sends them as everyone.
THOROUGH = EXAMPLES > DEFAULT_EXAMPLES
clinic_api_bounds = _schema("clinic", coverage=True)
clinic_api = _schema("clinic", coverage=THOROUGH)
public_api = _schema("public", coverage=THOROUGH)
APPLICATION = WSGIHandler()
# Fuzzed e-mails make throttle cache keys that memcached could not hold; the database cache can.
pytestmark = pytest.mark.filterwarnings("ignore::django.core.cache.backends.base.CacheKeyWarning")


@pytest.fixture
def token_of(db, clinic_a):
    """The bearer token of a clinic admin (clinic host), a chain manager or a write partner."""

    @functools.cache
    def token(caller: str) -> str:
        if caller == "clinic_admin":
            return sign_in(staff(clinic_a, "clinic_admin"), clinic_a)["access"]
        if caller == "chain_manager":
            return sign_in(manager(clinic_a.chain))["access"]
        return partner([clinic_a], scope="read_write")[1]

    return token


def _call_and_validate(case, *, host: str, token: str) -> None:
    # A WSGI server closes the request's database connection at its end (request_started and
    # request_finished); here the connection holds the test's transaction, so it must stay
    # open, as Django's own test client arranges.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = case.call(
            base_url=f"http://{host}",
            app=APPLICATION,
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    case.validate_response(response, checks=CHECKS)


@clinic_api_bounds.parametrize()
@HYPOTHESIS
def test_the_clinic_api_answers_a_clinic_admin_as_documented(case, token_of, clinic_a):
    _call_and_validate(case, host=clinic_hostname(clinic=clinic_a), token=token_of("clinic_admin"))


@pytest.mark.parametrize("caller", ["chain_manager", "partner"])
@clinic_api.parametrize()
@HYPOTHESIS
def test_the_clinic_api_answers_others_as_documented(case, caller, token_of, clinic_a):
    _call_and_validate(case, host=clinic_hostname(clinic=clinic_a), token=token_of(caller))


@pytest.mark.parametrize("caller", ["chain_manager", "partner"])
@public_api.parametrize()
@HYPOTHESIS
def test_the_public_api_answers_as_documented(case, caller, token_of):
    _call_and_validate(case, host=django_settings.BASE_DOMAIN, token=token_of(caller))


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["clinic", "public"])
def test_the_served_documents_are_these(host, clinic_a):
    client = host_client(clinic_a if host == "clinic" else None)

    served = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert served.status_code == 200
    assert json.loads(served.content) == json.loads(json.dumps(_document(URLCONFS[host])))
