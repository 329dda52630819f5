"""Nothing lost: RabbitMQ stopped during check-ins, a worker killed in the middle of a burst."""

import datetime
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

import queueing.services.checkins as checkin_services
from queueing.models import CheckIn, Ticket, TicketCounter
from tenants.sweeper import checkins_sweep
from tests.checkin_factories import cpf_from_number, new_patient_body, staff_client, staff_user
from tests.integration.conftest import (
    all_queue_names,
    close_thread_connection,
    wait_until_processed,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NOW = datetime.timedelta(0)


@pytest.fixture(autouse=True)
def empty_queues(broker):
    broker.purge(all_queue_names())


def _assert_one_ticket_each_numbered_from_one(clinic, checkins, count):
    with clinic:
        numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert numbers == list(range(1, count + 1))
    assert {c.status for c in checkins} == {"queued"}
    assert len({c.ticket_id for c in checkins}) == count


def test_check_ins_accepted_while_rabbitmq_is_down_are_queued_once_after_it_returns(
    broker, start_worker, clinic_a, caplog
):
    client = staff_client(clinic_a)
    broker.stop()
    try:
        answers, attempts = [], []
        for n in range(1, 11):
            backing_off = time.monotonic() < checkin_services._broker_down_until
            caplog.clear()
            response = client.post(
                "/api/v1/check-ins/", new_patient_body(cpf_from_number(n)), format="json"
            )
            answers.append(response.status_code)
            tried = any("broker unreachable" in r.getMessage() for r in caplog.records)
            attempts.append((backing_off, tried))
        assert answers == [202] * 10
        # Only the first check-in waits for the unreachable broker; those that follow within
        # the back-off answer at once, without trying it (and so does any after it runs out).
        assert attempts[:2] == [(False, True), (True, False)]
        assert all(tried is not backing_off for backing_off, tried in attempts), attempts
        with clinic_a:
            # One publish attempt each, none delivered: all wait for the sweeper.
            assert CheckIn.objects.filter(status="pending", publish_count=1).count() == 10
    finally:
        broker.start()

    # Two sweeps before any worker runs: every check-in is now in the queue twice.
    republished = sum(checkins_sweep(older_than=NOW).get("clinic_a", 0) for _ in range(2))
    assert republished == 20
    start_worker("after-outage")
    checkins = wait_until_processed(clinic_a, expected=10, timeout=60)
    _assert_one_ticket_each_numbered_from_one(clinic_a, checkins, 10)
    assert checkins_sweep(older_than=NOW) == {}


def _wait_until_waiting_on_locks(backends: int, timeout: float = 60) -> None:
    """Until `backends` database sessions wait for a lock (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
            waiting = cursor.fetchone()[0]
        if waiting >= backends:
            return
        assert time.monotonic() < deadline, f"{waiting} of {backends} sessions wait for a lock"
        time.sleep(0.02)


def test_a_worker_killed_mid_burst_loses_no_check_in_and_duplicates_none(
    broker, start_worker, clinic_a, settings
):
    # One receptionist's 100 check-ins in a minute are past the patient look-up limit; this is
    # about the worker dying mid-burst.
    settings.CLINICO_PATIENT_LOOKUPS_PER_MINUTE = 1000
    user = staff_user(clinic_a, "receptionist")

    def post(n):
        try:
            body = new_patient_body(cpf_from_number(n))
            return staff_client(clinic_a, user=user).post("/api/v1/check-ins/", body, format="json")
        finally:
            close_thread_connection()

    doomed = start_worker("doomed")
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(1, 21)))
        wait_until_processed(clinic_a, expected=20, timeout=60)
        with clinic_a, transaction.atomic():
            # Holding the day's ticket counter: the worker takes the next check-ins but cannot
            # number them, so it dies with tasks in hand (acknowledged only once done).
            TicketCounter.objects.select_for_update().get()
            answers += pool.map(post, range(21, 101))
            _wait_until_waiting_on_locks(2)  # both worker processes, each inside a task
            doomed.kill()
            queued_at_kill = CheckIn.objects.filter(status="queued").count()
    assert {response.status_code for response in answers} == {202}
    assert queued_at_kill == 20

    start_worker("replacement")
    checkins = wait_until_processed(clinic_a, expected=100, timeout=90)
    _assert_one_ticket_each_numbered_from_one(clinic_a, checkins, 100)
