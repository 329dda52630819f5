"""The appointments API: booking (idempotent by the partner's id), the day's list, cancelling."""

import pytest
import time_machine

from appointments.models import Appointment
from tests.accounts.conftest import bearer, host_client, partner
from tests.appointments.factories import DAY, arrive, book, local, new_cpf
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

CPF = "52998224725"


@pytest.fixture
def at_ten():
    """The test runs at 10:00 of DAY on clinic_a's clock."""
    with time_machine.travel(local(10), tick=True):
        yield


def _booking(service_id: int, **extra) -> dict:
    return {
        "cpf": "529.982.247-25",
        "patient": {"full_name": "Maria da Silva", "birth_date": "1980-04-02"},
        "service": service_id,
        "scheduled_at": "2026-03-02T14:30:00",  # no offset: the clinic's local time
        "professional": "Dra. Helena Prado",
        "note": "Retorno",
        **extra,
    }


def _attrs(response) -> set:
    return {error["attr"] for error in response.json()["errors"]}


def test_staff_book_a_new_patient_at_the_clinic_s_local_time(clinic_a, jwt_client, at_ten):
    client = jwt_client(clinic_a, "receptionist")
    with clinic_a:
        service_id = f.reception().pk

    response = client.post("/api/v1/appointments/", _booking(service_id), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["scheduled_at"] == "2026-03-02T17:30:00Z"  # 14:30 in São Paulo
    assert (body["status"], body["overdue"], body["service_day"]) == (
        "expected",
        False,
        "2026-03-02",
    )
    assert body["patient"]["cpf"] == "***.982.247-**"
    assert body["patient"]["display_name"]
    with clinic_a:
        stored = Appointment.objects.select_related("patient").get(pk=body["id"])
    assert stored.patient.cpf == CPF and stored.scheduled_at == local(14, 30)


def test_a_partner_repeating_its_appointment_id_gets_the_first_booking(clinic_a, at_ten):
    _, access = partner([clinic_a], scope="read_write")
    client = bearer(host_client(clinic_a), access)
    with clinic_a:
        service_id = f.reception().pk
    booking = _booking(service_id, external_id="agenda-1")

    first = client.post("/api/v1/appointments/", booking, format="json")
    again = client.post("/api/v1/appointments/", booking, format="json")
    other = client.post(
        "/api/v1/appointments/",
        {**booking, "scheduled_at": "2026-03-02T15:00:00"},
        format="json",
    )

    assert (first.status_code, again.status_code) == (201, 200), again.content
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["patient"] is None and first.json()["note"] is None  # a partner
    assert other.status_code == 422 and _attrs(other) == {"external_id"}, other.content
    with clinic_a:
        assert Appointment.objects.filter(external_id="agenda-1").count() == 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"cpf": "111.111.111-11"}, "cpf"),
        ({"cpf": None}, "cpf"),
        ({"scheduled_at": "tomorrow at nine"}, "scheduled_at"),
        ({"scheduled_at": "2026-03-01T09:00:00"}, "scheduled_at"),  # a day that has passed
        ({"service": 999999}, "service"),
        ({"service": "abc"}, "service"),
        ({"professional": "x" * 121}, "professional"),
        ({"patient": {}, "cpf": "11144477735"}, "patient.full_name"),  # a new CPF, no name
    ],
)
def test_bad_input_answers_400_naming_the_field(clinic_a, jwt_client, at_ten, change, field):
    client = jwt_client(clinic_a, "receptionist")
    with clinic_a:
        service_id = f.reception().pk
    booking = {**_booking(service_id), **change}
    if change.get("patient") == {}:
        del booking["patient"]

    response = client.post("/api/v1/appointments/", booking, format="json")

    assert response.status_code == 400, response.content
    assert field in _attrs(response), response.json()


def test_the_day_s_list_shows_who_is_expected_arrived_and_overdue(clinic_a, jwt_client, at_ten):
    client = jwt_client(clinic_a, "clinician")
    with clinic_a:
        svc = f.reception()
        overdue = book(svc, local(9, 30), booked_at=local(7))
        cpf = new_cpf()
        arrived = book(svc, local(10, 15), cpf=cpf, booked_at=local(7))
        ticket = arrive(svc, local(9, 55), cpf=cpf)
        later = book(svc, local(16), booked_at=local(7))
        book(svc, local(9, day=DAY.replace(day=3)), booked_at=local(7))  # another day

    response = client.get("/api/v1/appointments/")

    assert response.status_code == 200, response.content
    rows = [(a["id"], a["status"], a["overdue"]) for a in response.json()]
    assert rows == [
        (overdue.pk, "expected", True),
        (arrived.pk, "arrived", False),
        (later.pk, "expected", False),
    ]
    assert response.json()[1]["ticket"]["display_code"] == ticket.display_code
    assert response.json()[1]["ticket"]["rank_at"] == "2026-03-02T13:15:00Z"
    bad = client.get("/api/v1/appointments/?day=yesterday")
    assert bad.status_code == 400 and _attrs(bad) == {"day"}


def test_cancelling_an_arrived_appointment_is_refused_with_its_status(clinic_a, jwt_client, at_ten):
    client = jwt_client(clinic_a, "receptionist")
    with clinic_a:
        svc = f.reception()
        cpf = new_cpf()
        arrived = book(svc, local(10, 15), cpf=cpf, booked_at=local(7))
        arrive(svc, local(9, 55), cpf=cpf)
        expected = book(svc, local(11), booked_at=local(7))

    refused = client.post(f"/api/v1/appointments/{arrived.pk}/cancel/", {}, format="json")
    cancelled = client.post(
        f"/api/v1/appointments/{expected.pk}/cancel/", {"reason": "Remarcou"}, format="json"
    )

    assert refused.status_code == 409, refused.content
    assert refused.json()["current_status"] == "arrived"
    assert cancelled.status_code == 200, cancelled.content
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == (
        "cancelled",
        "Remarcou",
    )


def test_a_partner_cancels_only_its_own_bookings(clinic_a, jwt_client, at_ten):
    _, access = partner([clinic_a], scope="read_write")
    client = bearer(host_client(clinic_a), access)
    with clinic_a:
        staff_booking = book(f.reception(), local(11), booked_at=local(7))

    response = client.post(f"/api/v1/appointments/{staff_booking.pk}/cancel/", {}, format="json")

    assert response.status_code == 404, response.content
    with clinic_a:
        staff_booking.refresh_from_db()
    assert staff_booking.status == "expected"


# --- a partner's reach, look-ups, the same answer for known and new CPFs --------------------------


def _partner_api(clinic):
    _, access = partner([clinic], scope="read_write")
    return bearer(host_client(clinic), access)


def test_a_partner_lists_and_reads_only_the_appointments_it_booked(clinic_a, jwt_client, at_ten):
    scheduler = _partner_api(clinic_a)
    other_scheduler = _partner_api(clinic_a)
    reception = jwt_client(clinic_a, "receptionist")
    with clinic_a:
        service_id = f.reception().pk
        staff_booking = book(f.reception(), local(11), booked_at=local(7))
    own = scheduler.post("/api/v1/appointments/", _booking(service_id), format="json").json()
    others = other_scheduler.post(
        "/api/v1/appointments/", _booking(service_id, cpf=new_cpf()), format="json"
    ).json()

    listed = scheduler.get("/api/v1/appointments/?day=2026-03-02").json()
    by_reception = reception.get("/api/v1/appointments/?day=2026-03-02").json()
    read_staff = scheduler.get(f"/api/v1/appointments/{staff_booking.pk}/")
    read_other = scheduler.get(f"/api/v1/appointments/{others['id']}/")
    read_own = scheduler.get(f"/api/v1/appointments/{own['id']}/")

    assert [row["id"] for row in listed] == [own["id"]]
    assert {own["id"], others["id"], staff_booking.pk} <= {row["id"] for row in by_reception}
    assert (read_staff.status_code, read_other.status_code, read_own.status_code) == (404, 404, 200)
    assert read_staff.json() == scheduler.get("/api/v1/appointments/999999/").json()


@pytest.fixture
def frozen_at_ten():
    """10:00 of DAY on clinic_a's clock, standing still: the look-up counts stay in one minute."""
    with time_machine.travel(local(10), tick=False):
        yield


def test_bookings_by_cpf_count_against_the_patient_lookup_limit(
    clinic_a, jwt_client, frozen_at_ten, settings
):
    settings.CLINICO_PATIENT_LOOKUPS_PER_MINUTE = 2
    scheduler = _partner_api(clinic_a)
    reception = jwt_client(clinic_a, "receptionist")
    with clinic_a:
        service_id = f.reception().pk

    def booked(client):
        body = _booking(service_id, cpf=new_cpf())
        return client.post("/api/v1/appointments/", body, format="json")

    partner_answers = [booked(scheduler) for _ in range(3)]
    staff_answers = [booked(reception) for _ in range(3)]
    still_reads = scheduler.get("/api/v1/appointments/?day=2026-03-02")

    assert [a.status_code for a in partner_answers] == [201, 201, 429]
    assert [a.status_code for a in staff_answers] == [201, 201, 429]
    assert 1 <= int(partner_answers[2]["Retry-After"]) <= 60
    assert still_reads.status_code == 200  # reading its bookings takes no CPF
    with clinic_a:
        assert Appointment.objects.count() == 4


def test_a_partner_booking_answers_alike_for_a_registered_and_an_unregistered_cpf(clinic_a, at_ten):
    scheduler = _partner_api(clinic_a)
    with clinic_a:
        service_id = f.reception().pk
        known = book(f.reception(), local(11), booked_at=local(7)).patient.cpf

    def answer(cpf, **change):
        body = {**_booking(service_id, cpf=cpf), **change}
        response = scheduler.post("/api/v1/appointments/", body, format="json")
        content = response.json()
        if response.status_code >= 400:
            return response.status_code, sorted((e["code"], e["attr"]) for e in content["errors"])
        return response.status_code, sorted(content), content["patient"], content["status"]

    unknown = new_cpf()
    bare = [answer(cpf, patient={}) for cpf in (known, unknown)]
    nameless = [answer(cpf, patient={"birth_date": "1980-04-02"}) for cpf in (known, unknown)]
    whole = [answer(cpf) for cpf in (known, unknown)]

    assert bare[0] == bare[1] and bare[0][0] == 400, bare
    assert {attr for _code, attr in bare[0][1]} == {"patient.full_name", "patient.birth_date"}
    assert nameless[0] == nameless[1] and nameless[0][0] == 400, nameless
    assert whole[0] == whole[1] and whole[0][0] == 201, whole
    with clinic_a:
        assert Appointment.objects.filter(patient__cpf=known).count() == 2
