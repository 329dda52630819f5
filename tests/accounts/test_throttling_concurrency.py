"""Parallel hits on the limits: every one counted, none slips past a count not yet written.

Each thread has its own database connection (Django's per-thread connections) and a barrier
releases them together, so the requests really overlap.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from accounts.models import RateCounter
from accounts.throttles import rate_counters_hit
from tests.accounts.conftest import PASSWORD, bearer, host_client, partner, staff

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("minute_start")]

PARALLEL = 50
ATTACKER = "203.0.113.9"


def _together(work, n: int = PARALLEL) -> list:
    """`work(i)` in `n` threads released at once; their results in order."""
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait(timeout=60)
            return work(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_fifty_parallel_hits_on_one_counter_are_all_counted():
    now = time.time()

    counts = _together(
        lambda _i: rate_counters_hit(counters=[("test:parallel", "victim")], now=now)[
            ("test:parallel", "victim")
        ]
    )

    assert sorted(counts) == list(range(1, PARALLEL + 1))
    assert RateCounter.objects.get(kind="test:parallel", key="victim").count == PARALLEL


def test_fifty_parallel_wrong_passwords_get_five_guesses_and_no_more(clinic_a):
    # Given an attacker who fires fifty guesses at once at one account
    user, colleague = staff(clinic_a), staff(clinic_a)

    def guess(_i):
        return (
            host_client(clinic_a, REMOTE_ADDR=ATTACKER)
            .post("/api/v1/auth/token/", {"email": user.email, "password": "x"}, format="json")
            .status_code
        )

    statuses = _together(guess)

    # Then five were checked (and failed) and the other 45 were throttled unchecked
    assert sorted(statuses) == [401] * 5 + [429] * (PARALLEL - 5)
    right = host_client(clinic_a, REMOTE_ADDR=ATTACKER).post(
        "/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert right.status_code == 429
    # and the refused 45 were not failures: a colleague behind that address still signs in
    other = host_client(clinic_a, REMOTE_ADDR=ATTACKER).post(
        "/api/v1/auth/token/", {"email": colleague.email, "password": PASSWORD}, format="json"
    )
    assert other.status_code == 200


def test_a_partner_firing_in_parallel_gets_exactly_its_rate(clinic_a):
    _client, access = partner([clinic_a], requests_per_minute=10)

    def call(_i):
        return bearer(host_client(clinic_a), access).get("/api/v1/services/").status_code

    statuses = _together(call, n=30)

    assert sorted(statuses) == [200] * 10 + [429] * 20
