"""Failed sign-ins are limited per account+IP and per IP (429 with Retry-After), briefly."""

import datetime
import os
import subprocess
import sys

import pytest
import time_machine
from django.utils import timezone

from accounts.services import partner_client_create
from tests.accounts.conftest import PASSWORD, host_client, staff
from tests.database import database_url

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.9"
OFFICE = "198.51.100.20"


def _sign_in(clinic, email: str, password: str, ip: str):
    return host_client(clinic, REMOTE_ADDR=ip).post(
        "/api/v1/auth/token/", {"email": email, "password": password}, format="json"
    )


def test_the_sixth_failure_in_a_minute_is_answered_429_with_retry_after(clinic_a):
    user = staff(clinic_a)
    statuses = [_sign_in(clinic_a, user.email, "wrong", ATTACKER).status_code for _ in range(5)]

    blocked = _sign_in(clinic_a, user.email, PASSWORD, ATTACKER)

    assert statuses == [401] * 5
    assert blocked.status_code == 429
    assert 0 < int(blocked["Retry-After"]) <= 60
    assert blocked.json()["errors"][0]["code"] == "throttled"


def test_the_owner_signs_in_from_elsewhere_despite_an_attack_on_their_account(clinic_a):
    user = staff(clinic_a)
    for _ in range(6):
        _sign_in(clinic_a, user.email, "wrong", ATTACKER)

    response = _sign_in(clinic_a, user.email, PASSWORD, OFFICE)

    assert response.status_code == 200


def test_failures_on_other_accounts_do_not_block_a_colleague_on_the_same_address(clinic_a):
    victim, colleague = staff(clinic_a), staff(clinic_a)
    for _ in range(5):
        _sign_in(clinic_a, victim.email, "wrong", OFFICE)

    response = _sign_in(clinic_a, colleague.email, PASSWORD, OFFICE)

    assert response.status_code == 200


def test_one_address_trying_many_accounts_is_limited(clinic_a):
    for number in range(20):
        _sign_in(clinic_a, f"guess{number}@example.com", "wrong", ATTACKER)

    response = _sign_in(clinic_a, "another@example.com", "wrong", ATTACKER)

    assert response.status_code == 429


def test_the_block_lifts_after_a_minute(clinic_a):
    user = staff(clinic_a)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(5):
            _sign_in(clinic_a, user.email, "wrong", ATTACKER)
        assert _sign_in(clinic_a, user.email, PASSWORD, ATTACKER).status_code == 429

        traveller.shift(datetime.timedelta(seconds=61))

        assert _sign_in(clinic_a, user.email, PASSWORD, ATTACKER).status_code == 200


def test_failures_count_across_clinic_hosts(clinic_a, clinic_b):
    user = staff(clinic_a)
    for clinic in (clinic_a, clinic_b, clinic_a, clinic_b, clinic_a):
        _sign_in(clinic, user.email, "wrong", ATTACKER)

    response = _sign_in(clinic_b, user.email, "wrong", ATTACKER)

    assert response.status_code == 429


def test_a_successful_sign_in_clears_the_accounts_own_failures(clinic_a):
    user = staff(clinic_a)
    for _ in range(4):
        _sign_in(clinic_a, user.email, "wrong", OFFICE)
    assert _sign_in(clinic_a, user.email, PASSWORD, OFFICE).status_code == 200

    statuses = [_sign_in(clinic_a, user.email, "typo", OFFICE).status_code for _ in range(2)]

    assert statuses == [401, 401]


def test_partner_secret_guessing_is_limited(clinic_a):
    client, _secret = partner_client_create(name="Kiosk", clinics=[clinic_a])
    api = host_client(REMOTE_ADDR=ATTACKER)
    body = {"client_id": client.client_id, "client_secret": "guess"}

    statuses = [
        api.post("/api/v1/auth/partner-token/", body, format="json").status_code for _ in range(6)
    ]

    assert statuses == [401] * 5 + [429]


@pytest.mark.django_db(transaction=True)
def test_failures_recorded_by_another_web_process_count_here(clinic_a):
    # gunicorn runs several processes: an attacker spread over them meets one set of counters.
    user = staff(clinic_a)
    record = (
        "import django; django.setup()\n"
        "from accounts.throttles import login_failure_record\n"
        f"for _ in range(5): login_failure_record(kind='user', account={user.email!r}, "
        f"ip={ATTACKER!r})\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
        "DATABASE_URL": database_url(),
    }
    subprocess.run([sys.executable, "-c", record], env=env, check=True, timeout=60)

    blocked = _sign_in(clinic_a, user.email, PASSWORD, ATTACKER)

    assert blocked.status_code == 429
