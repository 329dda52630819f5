"""The OpenAPI documents of both hosts validate, describe the token scheme and the error bodies."""

import functools

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate

from tests.accounts.conftest import host_client

URLCONFS = ["clinico.urls_tenant", "clinico.urls_public"]


@functools.cache
def _generate(urlconf: str) -> tuple[dict, list[str]]:
    """The schema of `urlconf` and every warning or error drf-spectacular reported."""
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)
    problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    return schema, problems


@pytest.fixture(scope="module", params=URLCONFS)
def generated(request) -> tuple[str, dict, list[str]]:
    return (request.param, *_generate(request.param))


def test_the_document_validates_as_openapi(generated):
    _urlconf, schema, _problems = generated

    validate(schema)


def test_the_accounts_endpoints_generate_without_warnings(generated):
    urlconf, _schema, problems = generated
    ours = [p for p in problems if "accounts" in p or "auth" in p.lower() or "/me/" in p]

    assert ours == [], "\n".join(ours)


def test_the_bearer_token_scheme_is_described(generated):
    _urlconf, schema, _problems = generated
    scheme = schema["components"]["securitySchemes"]["jwtAuth"]

    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert "scope" in scheme["description"]
    me = schema["paths"]["/api/v1/me/"]["get"]
    assert {"jwtAuth": []} in me["security"]


def test_sign_in_documents_its_examples_and_error_bodies(generated):
    _urlconf, schema, _problems = generated
    token = schema["paths"]["/api/v1/auth/token/"]["post"]

    assert {"200", "400", "401", "429"} <= set(token["responses"])
    assert token["requestBody"]["content"]["application/json"]["examples"]
    assert token["responses"]["200"]["content"]["application/json"]["examples"]
    codes = schema["components"]["schemas"]["ErrorCode401Enum"]["enum"]
    assert {"token_expired", "token_scope_mismatch", "membership_inactive"} <= set(codes)


def test_the_clinic_document_has_staff_management_and_the_public_one_partner_tokens():
    clinic, _ = _generate("clinico.urls_tenant")
    public, _ = _generate("clinico.urls_public")

    assert "/api/v1/staff/" in clinic["paths"]
    assert "/api/v1/auth/partner-token/" in public["paths"]
    assert "/api/v1/auth/partner-token/" not in clinic["paths"]


@pytest.mark.django_db
def test_the_docs_pages_answer_on_both_hosts_even_with_a_foreign_token(clinic_a):
    for client in (host_client(clinic_a), host_client()):
        client.credentials(HTTP_AUTHORIZATION="Bearer not-for-this-host")
        assert client.get("/api/docs/").status_code == 200
        assert client.get("/api/redoc/").status_code == 200
        assert client.get("/api/schema/").status_code == 200
