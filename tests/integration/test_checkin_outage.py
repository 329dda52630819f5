"""Nothing lost: RabbitMQ stopped during check-ins, a worker killed in the middle of a burst."""

import datetime
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from queueing.models import CheckIn, Ticket
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
    broker, start_worker, clinic_a
):
    client = staff_client(clinic_a)
    broker.stop()
    try:
        answers, slowest = [], 0.0
        for n in range(1, 11):
            started = time.monotonic()
            response = client.post(
                "/api/v1/check-ins/", new_patient_body(cpf_from_number(n)), format="json"
            )
            slowest = max(slowest, time.monotonic() - started)
            answers.append(response.status_code)
        assert answers == [202] * 10
        assert slowest < 3.0
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


def test_a_worker_killed_mid_burst_loses_no_check_in_and_duplicates_none(
    broker, start_worker, clinic_a
):
    user = staff_user(clinic_a, "receptionist")

    def post(n):
        try:
            body = new_patient_body(cpf_from_number(n))
            return staff_client(clinic_a, user=user).post("/api/v1/check-ins/", body, format="json")
        finally:
            close_thread_connection()

    doomed = start_worker("doomed")
    with ThreadPoolExecutor(max_workers=8) as pool:
        burst = pool.map(post, range(1, 101))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with clinic_a:
                queued = CheckIn.objects.filter(status="queued").count()
            if queued >= 20:
                break
            time.sleep(0.01)
        doomed.kill()
        with clinic_a:
            queued_at_kill = CheckIn.objects.filter(status="queued").count()
        assert {response.status_code for response in burst} == {202}
    assert 0 < queued_at_kill < 100, "the kill should land in the middle of the burst"

    start_worker("replacement")
    checkins = wait_until_processed(clinic_a, expected=100, timeout=90)
    _assert_one_ticket_each_numbered_from_one(clinic_a, checkins, 100)
