"""Failed sign-ins are limited per account+IP and per IP (429 with Retry-After), at every door."""

import datetime
import os
import subprocess
import sys
import time

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import RateCounter, User
from accounts.services import partner_client_create
from tenants.selectors import clinic_hostname
from tests.accounts.conftest import PASSWORD, host_client, manager, person, staff
from tests.database import database_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("minute_start")]

ATTACKER = "203.0.113.9"
OFFICE = "198.51.100.20"
WINDOW = datetime.timedelta(minutes=1)
PROXY = "10.0.0.7"  # the load balancer, in the tests that configure one


def _sign_in(clinic, email: str, password: str, ip: str, **headers):
    return host_client(clinic, REMOTE_ADDR=ip).post(
        "/api/v1/auth/token/", {"email": email, "password": password}, format="json", **headers
    )


def assert_limited(response, *, api: bool) -> None:
    """429, a Retry-After within the minute, and the door's own way of saying so."""
    assert response.status_code == 429, (response.status_code, response.content[:300])
    wait = int(response["Retry-After"])
    assert 0 < wait <= 60
    if api:
        body = response.json()
        assert body["type"] == "client_error"
        assert body["errors"][0]["code"] == "throttled"
    else:
        assert f"Muitas tentativas sem sucesso. Aguarde {wait} segundo" in response.content.decode()


# --- every door, one set of counts ---------------------------------------------------------------

API_DOORS = {"api token, clinic host", "api token, public host", "partner token"}
DOORS = sorted(API_DOORS | {"page sign-in, clinic host", "page sign-in, public host", "admin"})


def _door(name: str, clinic, ip: str = ATTACKER):
    """`send(secret, **headers)` posting one sign-in at door `name`, and the right secret."""
    public = settings.BASE_DOMAIN
    if name == "partner token":
        client, secret = partner_client_create(name="Kiosk", clinics=[clinic])
        api = host_client(REMOTE_ADDR=ip)
        return (
            lambda guess, **headers: api.post(
                "/api/v1/auth/partner-token/",
                {"client_id": client.client_id, "client_secret": guess},
                format="json",
                **headers,
            ),
            secret,
        )
    if name.startswith("api token"):
        on_clinic = name.endswith("clinic host")
        user = staff(clinic) if on_clinic else manager(clinic.chain)
        api = host_client(clinic if on_clinic else None, REMOTE_ADDR=ip)
        return (
            lambda guess, **headers: api.post(
                "/api/v1/auth/token/",
                {"email": user.email, "password": guess},
                format="json",
                **headers,
            ),
            PASSWORD,
        )
    if name == "admin":
        user = User.objects.create_superuser(f"operator-{ip}@accounts.test", PASSWORD)
        host, path = public, "/admin/login/"
    else:
        on_clinic = name.endswith("clinic host")
        user = staff(clinic) if on_clinic else manager(clinic.chain)
        host, path = (clinic_hostname(clinic=clinic) if on_clinic else public), "/login/"
    browser = Client(HTTP_HOST=host, REMOTE_ADDR=ip)
    return (
        lambda guess, **headers: browser.post(
            path, {"username": user.email, "password": guess}, **headers
        ),
        PASSWORD,
    )


@pytest.mark.parametrize("door", DOORS)
def test_a_forged_x_forwarded_for_does_not_escape_the_limit(clinic_a, door):
    # Given an attacker who writes a new X-Forwarded-For on every guess
    send, right = _door(door, clinic_a)
    statuses = [send("wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code for n in range(1, 6)]

    # When they try again, even with the right secret and yet another forged address
    blocked = send(right, HTTP_X_FORWARDED_FOR="192.0.2.99")

    # Then the five guesses were refused one by one and the sixth is throttled
    assert statuses == ([401] * 5 if door in API_DOORS else [200] * 5)
    assert_limited(blocked, api=door in API_DOORS)


def test_failures_at_every_door_add_up_for_one_account(clinic_a):
    user = User.objects.create_superuser("operator-doors@accounts.test", PASSWORD)
    api = host_client(REMOTE_ADDR=ATTACKER)
    browser = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR=ATTACKER)
    for _ in range(2):
        api.post("/api/v1/auth/token/", {"email": user.email, "password": "x"}, format="json")
        browser.post("/login/", {"username": user.email, "password": "x"})
    browser.post("/admin/login/", {"username": user.email, "password": "x"})

    blocked = browser.post("/admin/login/", {"username": user.email, "password": PASSWORD})

    assert_limited(blocked, api=False)


def test_the_admin_sign_in_is_limited_and_then_lets_the_operator_in(clinic_a):
    operator = User.objects.create_superuser("operator-admin@accounts.test", PASSWORD)
    browser = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR=ATTACKER)
    wrong = [
        browser.post("/admin/login/", {"username": operator.email, "password": "guess"})
        for _ in range(5)
    ]
    assert [r.status_code for r in wrong] == [200] * 5
    assert all(r.wsgi_request.user.is_anonymous for r in wrong)

    blocked = browser.post("/admin/login/", {"username": operator.email, "password": PASSWORD})

    assert_limited(blocked, api=False)
    assert blocked.wsgi_request.user.is_anonymous
    # From another address the operator still signs in, and lands on the admin's index
    office = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR=OFFICE)
    signed_in = office.post("/admin/login/", {"username": operator.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    assert office.get("/admin/").status_code == 200


# --- the client's address ------------------------------------------------------------------------


@override_settings(CLINICO_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_behind_a_trusted_proxy_each_real_client_is_counted_apart(clinic_a):
    # Given a load balancer that appends the address it saw; the attacker forges what is left
    user = staff(clinic_a)
    for n in range(5):
        _sign_in(
            clinic_a, user.email, "wrong", PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}"
        )

    attacker = _sign_in(
        clinic_a, user.email, PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.77, {ATTACKER}"
    )
    owner = _sign_in(clinic_a, user.email, PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=OFFICE)

    assert_limited(attacker, api=True)
    assert owner.status_code == 200


@override_settings(CLINICO_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_a_chain_of_trusted_proxies_is_walked_from_the_right(clinic_a):
    user = staff(clinic_a)
    for n in range(5):
        _sign_in(
            clinic_a,
            user.email,
            "wrong",
            PROXY,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}, 10.9.9.9",
        )

    blocked = _sign_in(
        clinic_a, user.email, PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=f"{ATTACKER}, 10.1.1.1"
    )

    assert_limited(blocked, api=True)


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(clinic_a):
    # No proxy configured: the office's address is its own, whatever the attacker writes
    user = staff(clinic_a)
    for _ in range(5):
        _sign_in(clinic_a, user.email, "wrong", ATTACKER, HTTP_X_FORWARDED_FOR=OFFICE)

    owner = _sign_in(clinic_a, user.email, PASSWORD, OFFICE)

    assert owner.status_code == 200


def test_addresses_of_one_ipv6_network_share_the_counts(clinic_a):
    # An IPv6 host picks any of its /64's addresses at will
    user = staff(clinic_a)
    for n in range(1, 6):
        _sign_in(clinic_a, user.email, "wrong", f"2001:db8:1:2::{n:x}")

    blocked = _sign_in(clinic_a, user.email, PASSWORD, "2001:db8:1:2:ffff::1")
    neighbour = _sign_in(clinic_a, user.email, PASSWORD, "2001:db8:1:3::1")

    assert_limited(blocked, api=True)
    assert neighbour.status_code == 200


# --- counts that hold ---------------------------------------------------------------------------


def test_four_hundred_other_keys_do_not_erase_a_victims_count(clinic_a):
    # Given an account with five failures from the attacker
    victim = staff(clinic_a)
    for _ in range(5):
        _sign_in(clinic_a, victim.email, "wrong", ATTACKER)

    # When 400 other accounts fail from 400 other addresses (800 more counters)
    for n in range(400):
        _sign_in(clinic_a, f"zz-other-{n}@example.com", "wrong", f"198.18.{n // 250}.{n % 250}")

    # Then the victim's account is still throttled for the attacker
    assert_limited(_sign_in(clinic_a, victim.email, PASSWORD, ATTACKER), api=True)


def test_counts_of_finished_minutes_are_deleted_in_passing(clinic_a):
    user = staff(clinic_a)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(3):
            _sign_in(clinic_a, user.email, "wrong", ATTACKER)
        assert RateCounter.objects.count() == 2  # the account's and the address's

        traveller.shift(datetime.timedelta(minutes=10))
        _sign_in(clinic_a, user.email, "wrong", OFFICE)

        assert RateCounter.objects.filter(window_start__lt=timezone.now() - WINDOW).count() == 0
        assert RateCounter.objects.count() == 2  # only the office's, this minute


# --- the rules (unchanged) ---------------------------------------------------------------------


def test_the_sixth_failure_in_a_minute_is_answered_429_with_retry_after(clinic_a):
    user = staff(clinic_a)
    statuses = [_sign_in(clinic_a, user.email, "wrong", ATTACKER).status_code for _ in range(5)]

    blocked = _sign_in(clinic_a, user.email, PASSWORD, ATTACKER)

    assert statuses == [401] * 5
    assert_limited(blocked, api=True)


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

    assert_limited(response, api=True)


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

    assert_limited(response, api=True)


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

    responses = [api.post("/api/v1/auth/partner-token/", body, format="json") for _ in range(6)]

    assert [r.status_code for r in responses[:5]] == [401] * 5
    assert_limited(responses[5], api=True)


@pytest.mark.django_db(transaction=True)
def test_failures_recorded_by_another_web_process_count_here(clinic_a):
    # gunicorn runs several processes: an attacker spread over them meets one set of counts.
    user = person()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
        "DATABASE_URL": database_url(),
    }
    other_process = (
        "import django; django.setup()\n"
        "import time_machine\n"
        f"time_machine.travel({time.time()!r}, tick=True).start()\n"
        "from django.test import Client\n"
        "from django.conf import settings\n"
        f"browser = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR={ATTACKER!r})\n"
        "for _ in range(5):\n"
        f"    browser.post('/login/', {{'username': {user.email!r}, 'password': 'x'}})\n"
    )
    subprocess.run([sys.executable, "-c", other_process], env=env, check=True, timeout=60)

    blocked = _sign_in(None, user.email, PASSWORD, ATTACKER)

    assert_limited(blocked, api=True)
