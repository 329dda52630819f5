"""Bad input at the API's edge answers 4xx in the error format: too big, too deep, not a number."""

import pytest

from tests.accounts.conftest import bearer, host_client, manager, sign_in
from tests.checkin_factories import staff_client
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def _only_error(response) -> dict:
    body = response.json()
    assert len(body["errors"]) == 1, body
    return {"type": body["type"], **body["errors"][0]}


def test_a_check_in_body_over_the_limit_answers_413_in_the_error_format(clinic_a):
    body = '{"cpf": "' + "1" * (2 * MB + MB // 2) + '"}'  # over Django's default 2.5 MB too

    response = staff_client(clinic_a).post(
        "/api/v1/check-ins/", body, content_type="application/json"
    )

    assert response.status_code == 413
    error = _only_error(response)
    assert (error["type"], error["code"], error["attr"]) == (
        "client_error",
        "request_too_large",
        None,
    )
    assert "1024 KB" in error["detail"]


def test_a_body_just_under_the_limit_is_read_and_validated(clinic_a):
    body = '{"cpf": "' + "1" * (MB - 20) + '"}'

    response = staff_client(clinic_a).post(
        "/api/v1/check-ins/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert _only_error(response)["attr"] == "cpf"


def test_json_nested_too_deeply_answers_400_parse_error(clinic_a):
    response = staff_client(clinic_a).post(
        "/api/v1/check-ins/", "[" * 100_000, content_type="application/json"
    )

    assert response.status_code == 400
    error = _only_error(response)
    assert (error["type"], error["code"]) == ("client_error", "parse_error")
    assert "nested too deeply" in error["detail"]


def test_malformed_json_answers_400_parse_error(clinic_a):
    response = staff_client(clinic_a).post(
        "/api/v1/check-ins/", b'{"cpf": "\xff', content_type="application/json"
    )

    assert response.status_code == 400
    assert _only_error(response)["code"] == "parse_error"


def test_a_huge_sign_in_form_answers_413_not_500(clinic_a):
    form = "email=a%40b.test&password=" + "x" * (2 * MB)

    response = client_for(clinic_a).post(
        "/login/", form, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("service", ["²", "٣", "1.5", "-1", "0", "9" * 20, "abc"])
def test_a_service_that_is_not_an_ascii_id_answers_400_naming_it(clinic_a, service):
    response = staff_client(clinic_a).get("/api/v1/queue/", {"service": service})

    assert response.status_code == 400
    error = _only_error(response)
    assert (error["type"], error["attr"]) == ("validation_error", "service")


@pytest.mark.parametrize("limit", ["²", "0", "51", "x"])
def test_a_panel_limit_out_of_range_answers_400_naming_it(clinic_a, limit):
    response = staff_client(clinic_a).get("/api/v1/panel/", {"limit": limit})

    assert response.status_code == 400
    assert _only_error(response)["attr"] == "limit"


def test_a_cpf_search_with_a_nul_character_answers_400(clinic_a):
    response = staff_client(clinic_a).get("/api/v1/patients/", {"cpf": "529\x00982"})

    assert response.status_code == 400
    assert _only_error(response)["attr"] == "cpf"


def test_a_clinic_slug_with_a_nul_character_answers_404(clinic_a):
    api = bearer(host_client(), sign_in(manager(clinic_a.chain))["access"])

    response = api.get("/api/v1/clinics/clinic%00_a/")

    assert response.status_code == 404
    assert _only_error(response)["code"] == "not_found"


def test_an_api_url_that_matches_nothing_answers_404_in_the_error_format(clinic_a):
    response = staff_client(clinic_a).get("/api/v1/desks/-1/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert _only_error(response)["code"] == "not_found"


def test_a_page_that_does_not_exist_is_still_a_page(clinic_a):
    response = client_for(clinic_a).get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
