"""The check-in path end to end: API in this process, a real worker, RabbitMQ, PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from patients.models import Patient
from queueing.models import CheckIn, Service, Ticket
from tests.checkin_factories import cpf_from_number, new_patient_body, staff_client, staff_user
from tests.integration.conftest import close_thread_connection, wait_until_processed

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CPF = "52998224725"


@pytest.fixture(scope="module", autouse=True)
def worker(start_worker):
    return start_worker("checkin")


def _post_concurrently(clinic, bodies, *, headers=None, threads=16):
    user = staff_user(clinic, "receptionist")

    def post(body):
        try:
            response = staff_client(clinic, user=user).post(
                "/api/v1/check-ins/", body, format="json", **(headers or {})
            )
            return response.status_code, response.json()
        finally:
            close_thread_connection()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(post, bodies))


def test_a_check_in_becomes_queued_with_a_ticket(clinic_a):
    client = staff_client(clinic_a)
    created = client.post("/api/v1/check-ins/", new_patient_body(CPF), format="json")
    assert created.status_code == 202
    wait_until_processed(clinic_a, expected=1, timeout=30)
    status = client.get(created.json()["status_url"]).json()
    assert status["status"] == "queued"
    assert status["ticket"]["display_code"] == "R001"
    assert status["ticket"]["position"] == 1


def test_a_clinics_check_in_writes_only_that_clinics_schema(clinic_a, clinic_b, clinic_c):
    staff_client(clinic_b).post("/api/v1/check-ins/", new_patient_body(CPF), format="json")
    wait_until_processed(clinic_b, expected=1, timeout=30)
    with clinic_b:
        assert (Patient.objects.count(), Ticket.objects.count()) == (1, 1)
    for other in (clinic_a, clinic_c):
        with other:
            assert (Patient.objects.count(), Ticket.objects.count()) == (0, 0)


def test_twenty_concurrent_check_ins_of_one_new_cpf_give_one_patient_and_one_ticket(clinic_a):
    results = _post_concurrently(clinic_a, [new_patient_body(CPF)] * 20)
    assert [code for code, _ in results] == [202] * 20
    checkins = wait_until_processed(clinic_a, expected=20, timeout=60)
    with clinic_a:
        assert Patient.objects.filter(cpf=CPF).count() == 1
        assert Ticket.objects.count() == 1
    assert {c.status for c in checkins} == {"queued"}
    assert len({c.ticket_id for c in checkins}) == 1


def test_a_repeated_idempotency_key_gives_one_check_in(clinic_a):
    headers = {"HTTP_IDEMPOTENCY_KEY": "kiosk-3:0001"}
    results = _post_concurrently(clinic_a, [new_patient_body(CPF)] * 10, headers=headers)
    assert {code for code, _ in results} <= {200, 202}
    assert len({body["id"] for _, body in results}) == 1
    wait_until_processed(clinic_a, expected=1, timeout=30)
    with clinic_a:
        assert CheckIn.objects.count() == 1
        assert Ticket.objects.count() == 1


def test_two_hundred_concurrent_check_ins_get_numbers_one_to_two_hundred(clinic_a, settings):
    # One receptionist sending 200 in a minute is past the patient look-up limit; this is about
    # the numbering under concurrency.
    settings.CLINICO_PATIENT_LOOKUPS_PER_MINUTE = 1000
    with clinic_a:
        service = Service.objects.create(name="Coleta", prefix="C")
    bodies = [new_patient_body(cpf_from_number(n), service=service.pk) for n in range(1, 201)]
    results = _post_concurrently(clinic_a, bodies)
    assert [code for code, _ in results] == [202] * 200
    wait_until_processed(clinic_a, expected=200, timeout=120)
    with clinic_a:
        numbers = sorted(Ticket.objects.filter(service=service).values_list("number", flat=True))
        codes = set(Ticket.objects.values_list("display_code", flat=True))
    assert numbers == list(range(1, 201))
    assert {"C001", "C200"} <= codes


def test_a_worker_whose_database_connection_dropped_still_processes_check_ins(clinic_a):
    # Workers keep their connection between tasks; a database restart or failover cuts it.
    client = staff_client(clinic_a)
    client.post("/api/v1/check-ins/", new_patient_body(CPF), format="json")
    wait_until_processed(clinic_a, expected=1, timeout=30)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1  # the worker's connection, at least
    client.post("/api/v1/check-ins/", new_patient_body(cpf_from_number(7)), format="json")
    checkins = wait_until_processed(clinic_a, expected=2, timeout=30)
    assert [c.status for c in checkins] == ["queued", "queued"]
