"""Dates a clinic cannot mean and ids in other scripts' digits answer 400 naming the field; CSV
cells never run as spreadsheet formulas."""

import csv
import datetime
import io

import pytest
from django.test import Client

from common.dates import EARLIEST_DAY, latest_day
from queueing.models import Desk, Panel
from tenants.selectors import clinic_hostname
from tests.accounts.conftest import bearer, host_client, manager, sign_in
from tests.accounts.conftest import staff as account_staff
from tests.checkin_factories import new_patient_body, staff_client
from tests.conftest import client_for
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

FAR_FUTURE = "9999-12-31"
FAR_PAST = "1999-12-31"


def _attrs(response) -> list:
    return [error["attr"] for error in response.json()["errors"]]


def _admin_api(clinic):
    client = client_for(clinic)
    client.force_authenticate(user=f.staff(clinic, "clinic_admin"))
    return client


@pytest.mark.parametrize("path", ["/api/v1/figures/", "/api/v1/figures/csv/"])
@pytest.mark.parametrize("param", ["from", "to"])
@pytest.mark.parametrize("day", [FAR_FUTURE, FAR_PAST])
def test_figures_of_a_day_no_clinic_can_mean_answer_400_naming_the_field(
    clinic_a, path, param, day
):
    response = _admin_api(clinic_a).get(path, {param: day})

    assert response.status_code == 400
    assert _attrs(response) == [param]
    assert EARLIEST_DAY.isoformat() in response.json()["errors"][0]["detail"]


def _browser(clinic, user) -> Client:
    browser = Client(HTTP_HOST=clinic_hostname(clinic=clinic))
    browser.force_login(user)
    return browser


@pytest.mark.parametrize("path", ["/figures/", "/figures/csv/"])
def test_the_figures_page_and_its_csv_answer_400_for_a_day_no_clinic_can_mean(clinic_a, path):
    browser = _browser(clinic_a, f.staff(clinic_a, "clinic_admin"))

    response = browser.get(path, {"from": FAR_FUTURE})
    first_and_last = browser.get(path, {"from": "2000-01-01", "to": "2000-01-31"})
    two_years_ahead = browser.get(
        path, {"from": latest_day() - datetime.timedelta(days=7), "to": latest_day()}
    )

    assert response.status_code == 400
    assert "2000-01-01" in response.content.decode()
    assert (first_and_last.status_code, two_years_ahead.status_code) == (200, 200)


@pytest.mark.parametrize("suffix", ["", "csv/"])
def test_the_chain_dashboards_figures_answer_400_for_a_day_no_clinic_can_mean(clinic_a, suffix):
    browser = Client(HTTP_HOST="localhost")
    browser.force_login(manager(clinic_a.chain))

    response = browser.get(
        f"/dashboard/clinics/{clinic_a.schema_name}/figures/{suffix}", {"to": FAR_FUTURE}
    )

    assert response.status_code == 400
    assert "2000-01-01" in response.content.decode()


@pytest.mark.parametrize("param", ["from", "to"])
def test_chain_stats_of_a_day_no_clinic_can_mean_answer_400_naming_the_field(clinic_a, param):
    api = bearer(host_client(), sign_in(manager(clinic_a.chain))["access"])

    response = api.get(f"/api/v1/chains/{clinic_a.chain_id}/stats/", {param: FAR_FUTURE})

    assert response.status_code == 400
    assert _attrs(response) == [param]
    assert "2000-01-01" in response.json()["errors"][0]["detail"]


@pytest.mark.parametrize("scheduled_at", ["9999-12-31T23:59:59", "9999-12-31T23:59:59-03:00"])
def test_an_appointment_at_a_time_no_clinic_can_mean_answers_400_naming_scheduled_at(
    clinic_a, scheduled_at
):
    with clinic_a:
        service_id = f.reception().pk
    booking = {
        "cpf": "529.982.247-25",
        "patient": {"full_name": "Maria da Silva", "birth_date": "1980-04-02"},
        "service": service_id,
        "scheduled_at": scheduled_at,
    }

    response = staff_client(clinic_a).post("/api/v1/appointments/", booking, format="json")

    assert response.status_code == 400
    assert _attrs(response) == ["scheduled_at"]


def test_the_appointments_of_a_day_no_clinic_can_mean_answer_400_naming_the_day(clinic_a):
    response = staff_client(clinic_a).get("/api/v1/appointments/", {"day": FAR_FUTURE})

    assert response.status_code == 400
    assert _attrs(response) == ["day"]


@pytest.mark.parametrize("param", ["since", "until"])
def test_the_access_trail_of_a_time_no_clinic_can_mean_answers_400_naming_it(clinic_a, param):
    response = _admin_api(clinic_a).get("/api/v1/access-trail/", {param: "9999-12-31T23:59:59"})

    assert response.status_code == 400
    assert _attrs(response) == [param]


def test_the_access_trail_page_refuses_a_day_no_clinic_can_mean(clinic_a):
    browser = _browser(clinic_a, account_staff(clinic_a, "clinic_admin"))

    response = browser.get("/privacy/access-trail/", {"date_to": FAR_FUTURE})

    assert response.status_code == 400
    assert "2000-01-01" in response.content.decode()


ARABIC_ONE = "\u0661"  # "١", which int() reads as 1


def test_a_panel_with_a_desk_id_in_arabic_digits_is_refused_naming_desks(clinic_a):
    with clinic_a:
        f.desk("Guichê 1", f.reception())
        panels_before = Panel.objects.count()

    response = _admin_api(clinic_a).post(
        "/api/v1/panels/", {"name": "TV", "desks": [ARABIC_ONE]}, format="json"
    )

    assert response.status_code == 400
    assert _attrs(response) == ["desks.0"]
    with clinic_a:
        assert Panel.objects.count() == panels_before


def test_a_desk_with_a_service_id_in_arabic_digits_is_refused_naming_services(clinic_a):
    response = _admin_api(clinic_a).post(
        "/api/v1/desks/", {"name": "Guichê 9", "services": [ARABIC_ONE]}, format="json"
    )

    assert response.status_code == 400
    assert _attrs(response) == ["services.0"]
    with clinic_a:
        assert not Desk.objects.filter(name="Guichê 9").exists()


def test_a_check_in_with_a_service_id_in_arabic_digits_is_refused_naming_service(clinic_a):
    with clinic_a:
        service_id = f.reception().pk
    client = staff_client(clinic_a)

    response = client.post(
        "/api/v1/check-ins/", new_patient_body("52998224725", service=ARABIC_ONE), format="json"
    )
    ascii_text = client.post(
        "/api/v1/check-ins/",
        new_patient_body("52998224725", service=str(service_id)),
        format="json",
    )

    assert response.status_code == 400
    assert _attrs(response) == ["service"]
    assert ascii_text.status_code in (201, 202), ascii_text.content


FORMULA = '=HYPERLINK("http://evil.example/x","QA")'


def test_a_desk_named_like_a_formula_stays_text_in_the_figures_csv(clinic_a):
    with clinic_a:
        f.desk(FORMULA, f.reception())
        f.desk("-1+1", f.reception())
    api = _admin_api(clinic_a)

    response = api.get("/api/v1/figures/csv/")

    assert response.status_code == 200
    cells = [
        cell
        for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";")
        for cell in row
    ]
    assert "'" + FORMULA in cells and FORMULA not in cells
    assert "'-1+1" in cells
    assert not any(cell[:1] in ("=", "+", "@", "\t", "\r") for cell in cells)


ARABIC_DAY = "٢٠٢٦-١٢-٠١"


def test_dates_written_with_other_scripts_digits_are_refused_naming_the_field(clinic_a):
    from tests.checkin_factories import staff_client

    staff = staff_client(clinic_a, "clinic_admin")
    figures = staff.get("/api/v1/figures/", {"from": ARABIC_DAY, "to": "2026-12-02"})
    check_in = staff.post(
        "/api/v1/check-ins/",
        {
            "cpf": "52998224725",
            "patient": {"full_name": "Maria da Silva", "birth_date": "١٩٩٠-٠١-٠١"},
        },
        format="json",
    )
    with clinic_a:
        service_id = f.reception().pk
    booked = staff.post(
        "/api/v1/appointments/",
        {
            "cpf": "52998224725",
            "patient": {"full_name": "Maria da Silva", "birth_date": "1980-04-02"},
            "service": service_id,
            "scheduled_at": "٢٠٢٦-١٢-٠٩T10:00:00",
        },
        format="json",
    )

    assert figures.status_code == 400 and figures.json()["errors"][0]["attr"] == "from"
    assert check_in.status_code == 400
    assert check_in.json()["errors"][0]["attr"] == "patient.birth_date"
    assert booked.status_code == 400
    assert _attrs(booked) == ["scheduled_at"]
