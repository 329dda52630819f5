"""The OpenAPI documents list the error answers the API really gives, where it can give them."""

import functools

import pytest
from drf_spectacular.generators import SchemaGenerator


@functools.cache
def _document(urlconf: str) -> dict:
    return SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)


@pytest.mark.parametrize("urlconf", ["clinico.urls_tenant", "clinico.urls_public"])
def test_every_operation_documents_503_with_retry_after(urlconf):
    document = _document(urlconf)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            unavailable = operation["responses"].get("503")
            assert unavailable is not None, (method, path)
            assert unavailable["headers"]["Retry-After"]["required"] is True
    codes = document["components"]["schemas"]["ErrorCode503Enum"]["enum"]
    assert set(codes) == {"database_unavailable", "broker_unavailable"}


def test_operations_with_a_json_body_document_413_and_the_others_do_not():
    document = _document("clinico.urls_tenant")

    check_in = document["paths"]["/api/v1/check-ins/"]["post"]["responses"]
    queue = document["paths"]["/api/v1/queue/"]["get"]["responses"]

    assert "413" in check_in
    assert "413" not in queue
    assert document["components"]["schemas"]["ErrorCode413Enum"]["enum"] == ["request_too_large"]


def test_query_parameters_document_their_400_naming_the_parameter():
    document = _document("clinico.urls_tenant")
    schemas = document["components"]["schemas"]

    errors = schemas["QueueRetrieveError"]["discriminator"]["mapping"]
    service = schemas[errors["service"].rsplit("/", 1)[-1]]["properties"]["code"]["enum"]

    assert {"invalid", "min_value", "max_value"} <= set(service)


def test_list_item_errors_are_documented_as_drf_names_them():
    document = _document("clinico.urls_tenant")
    schemas = document["components"]["schemas"]

    item = schemas["DesksCreateServicesINDEXErrorComponent"]["properties"]["attr"]

    assert item == {"type": "string", "pattern": r"^services\.[0-9]+$"}


def test_a_missing_or_null_nested_object_is_documented_at_its_own_name():
    document = _document("clinico.urls_tenant")
    schemas = document["components"]["schemas"]

    patient = schemas["CheckInsCreatePatientErrorComponent"]["properties"]

    assert patient["attr"]["enum"] == ["patient"]
    assert "null" in patient["code"]["enum"]
