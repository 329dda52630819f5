"""The database unreachable in the middle of a burst of check-ins: 503 with Retry-After, none lost.

A real web process (gunicorn, as deployed) serves the check-ins. The outage is real too: the
test database stops accepting connections (ALLOW_CONNECTIONS false) and every connection to it
is terminated, as a database restart would, except the test's own. The phases follow each other
step by step, so what each request meets does not depend on timing.
"""

import contextlib
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests
from django.db import connection

from queueing.models import CheckIn, Ticket
from tenants.selectors import clinic_hostname
from tests.checkin_factories import cpf_from_number, new_patient_body, staff_user
from tests.integration.conftest import all_queue_names, wait_until_processed

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BURST = 20


class DatabaseGate:
    """Takes the test database away from everyone but this test, and gives it back."""

    def __init__(self):
        db = connection.settings_dict
        self.name = db["NAME"]
        self.admin = psycopg2.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None,
            dbname="postgres",
        )  # fmt: skip
        self.admin.autocommit = True

    @contextlib.contextmanager
    def closed(self):
        connection.ensure_connection()
        kept = connection.connection.info.backend_pid  # the test's own, to check the outcome
        with self.admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
            try:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> %s",
                    [self.name, kept],
                )
                yield
            finally:
                cursor.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')

    def close(self) -> None:
        self.admin.close()


@pytest.fixture
def database_gate():
    gate = DatabaseGate()
    yield gate
    gate.close()


@pytest.fixture(autouse=True)
def empty_queues(broker):
    broker.purge(all_queue_names())


def _burst(web: str, headers: dict, keys: list[tuple[int, str]]) -> list[requests.Response]:
    """Check-ins of new patients numbered as `keys` say, 8 at a time, each with its key."""

    def post(numbered_key):
        number, key = numbered_key
        return requests.post(
            f"{web}/api/v1/check-ins/",
            json=new_patient_body(cpf_from_number(number)),
            headers={**headers, "Idempotency-Key": key},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(post, keys))


def _assert_database_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["Retry-After"] == "5"
    body = response.json()
    assert body["type"] == "server_error"
    assert [(e["code"], e["attr"]) for e in body["errors"]] == [("database_unavailable", None)]


def _signed_in_page_session(web: str, clinic, email: str, password: str) -> requests.Session:
    page = requests.Session()
    page.headers["Host"] = clinic_hostname(clinic=clinic)
    form = page.get(f"{web}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    signed_in = page.post(
        f"{web}/login/",
        data={"csrfmiddlewaretoken": token, "username": email, "password": password},
        timeout=10,
    )
    assert signed_in.status_code == 200 and "/login/" not in signed_in.url, signed_in.text[:300]
    return page


def test_check_ins_meeting_a_database_outage_answer_503_and_none_is_lost(
    web, start_worker, database_gate, clinic_a, clinic_b
):
    user = staff_user(clinic_a, "receptionist")  # password "pw"
    signed_in = requests.post(
        f"{web}/api/v1/auth/token/",
        json={"email": user.email, "password": "pw"},
        headers={"Host": clinic_hostname(clinic=clinic_a)},
        timeout=10,
    )
    api = {
        "Host": clinic_hostname(clinic=clinic_a),
        "Authorization": f"Bearer {signed_in.json()['access']}",
    }
    page = _signed_in_page_session(web, clinic_a, user.email, "pw")
    keys = [(number, str(uuid.uuid4())) for number in range(1, 3 * BURST + 1)]
    before, during, after = keys[:BURST], keys[BURST : 2 * BURST], keys[2 * BURST :]

    accepted_before = _burst(web, api, before)
    with database_gate.closed():
        refused = _burst(web, api, during)
        # Before any view: the host of a clinic this process has not looked up yet.
        unknown_host = requests.get(
            f"{web}/api/v1/me/", headers={"Host": clinic_hostname(clinic=clinic_b)}, timeout=10
        )
        console = page.get(f"{web}/", timeout=10)
    # What Retry-After asks for: wait, then send again with the same Idempotency-Keys. (Sent at
    # once, a web thread whose connection answered within the last second skips the health check
    # (clinico.postgresql) and meets the terminated connection: one more 503 for that thread.)
    time.sleep(int(refused[0].headers["Retry-After"]))
    retried = _burst(web, api, during)
    accepted_after = _burst(web, api, after)

    assert [r.status_code for r in accepted_before] == [202] * BURST
    for response in [*refused, unknown_host]:
        _assert_database_unavailable(response)
    assert (console.status_code, console.headers["Retry-After"]) == (503, "5")
    assert console.headers["Content-Type"].startswith("text/html")
    assert [r.status_code for r in retried + accepted_after] == [202] * (2 * BURST)

    start_worker("after-outage")
    checkins = wait_until_processed(clinic_a, expected=3 * BURST, timeout=90)
    accepted_ids = {r.json()["id"] for r in accepted_before + retried + accepted_after}
    assert {str(c.pk) for c in checkins} == accepted_ids
    assert {c.status for c in checkins} == {"queued"}
    with clinic_a:
        assert CheckIn.objects.count() == 3 * BURST
        numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 3 * BURST + 1))
