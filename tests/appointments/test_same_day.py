"""A second booking of a patient the same day: asked for (409) when the caller asks to be asked,
booked when confirmed; partners' agendas that do not ask book as before."""

import pytest
import time_machine

from appointments.models import Appointment
from tests.appointments.factories import local
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_ten():
    with time_machine.travel(local(10), tick=True):
        yield


def _booking(service_id: int, at: str, **extra) -> dict:
    return {
        "cpf": "529.982.247-25",
        "patient": {"full_name": "Maria da Silva", "birth_date": "1980-04-02"},
        "service": service_id,
        "scheduled_at": f"2026-03-02T{at}:00",
        **extra,
    }


def test_a_second_booking_that_day_is_asked_for_then_made_when_confirmed(
    clinic_a, jwt_client, at_ten
):
    client = jwt_client(clinic_a, "receptionist")
    with clinic_a:
        service_id = f.reception().pk
    first = client.post(
        "/api/v1/appointments/", _booking(service_id, "14:30", confirm_same_day=False), "json"
    )

    asked = client.post(
        "/api/v1/appointments/", _booking(service_id, "16:00", confirm_same_day=False), "json"
    )
    confirmed = client.post(
        "/api/v1/appointments/", _booking(service_id, "16:00", confirm_same_day=True), "json"
    )

    assert first.status_code == 201, first.content
    assert asked.status_code == 409, asked.content
    error = asked.json()["errors"][0]
    assert (error["code"], error["attr"]) == ("same_day_booking", "confirm_same_day")
    assert error["detail"] == "Este paciente já tem agendamento neste dia: 14:30 (Recepção)."
    assert confirmed.status_code == 201, confirmed.content
    with clinic_a:
        assert Appointment.objects.count() == 2


def test_a_cancelled_booking_or_another_day_asks_nothing(clinic_a, jwt_client, at_ten):
    client = jwt_client(clinic_a, "receptionist")
    with clinic_a:
        service_id = f.reception().pk
    first = client.post("/api/v1/appointments/", _booking(service_id, "14:30"), "json").json()
    client.post(f"/api/v1/appointments/{first['id']}/cancel/", {"reason": "remarcou"}, "json")

    again = client.post(
        "/api/v1/appointments/", _booking(service_id, "16:00", confirm_same_day=False), "json"
    )
    tomorrow = _booking(service_id, "09:00", confirm_same_day=False)
    tomorrow["scheduled_at"] = "2026-03-03T09:00:00"
    next_day = client.post("/api/v1/appointments/", tomorrow, "json")

    assert again.status_code == 201, again.content
    assert next_day.status_code == 201, next_day.content


def test_callers_that_do_not_ask_book_a_second_time_as_before(clinic_a, jwt_client, at_ten):
    client = jwt_client(clinic_a, "receptionist")
    with clinic_a:
        service_id = f.reception().pk

    answers = [
        client.post("/api/v1/appointments/", _booking(service_id, at), "json").status_code
        for at in ("14:30", "16:00")
    ]

    assert answers == [201, 201]
