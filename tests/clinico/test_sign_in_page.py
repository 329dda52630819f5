"""The pages' sign-in: one answer for every refusal, and 429 over the sign-in limits."""

import re

import pytest
from django.conf import settings
from django.test import Client

from tenants.selectors import clinic_hostname
from tests.accounts.conftest import PASSWORD, manager, person, staff

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("minute_start")]


def _alert(response) -> str:
    """The text of the sign-in page's error box."""
    match = re.search(
        r'<div class="alert alert-error" role="alert">(.*?)</div>', response.text, re.S
    )
    assert match, response.text[:500]
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def _post(host: str, email: str, password: str, ip: str = "198.51.100.7"):
    return Client(HTTP_HOST=host, REMOTE_ADDR=ip).post(
        "/login/", {"username": email, "password": password}
    )


def test_no_access_here_and_a_wrong_password_get_the_same_answer(clinic_a, clinic_b):
    # Given a receptionist of clinic A and one of clinic B
    own, other = staff(clinic_a), staff(clinic_b)
    host = clinic_hostname(clinic=clinic_a)

    # When A's receptionist mistypes her password, and B's types his right one at clinic A
    wrong_password = _post(host, own.email, "typo")
    no_access = _post(host, other.email, PASSWORD, ip="198.51.100.8")

    # Then both see the same page: nothing tells a guesser that a password was right
    assert (wrong_password.status_code, no_access.status_code) == (200, 200)
    assert _alert(wrong_password) == _alert(no_access)
    assert _alert(no_access).startswith("E-mail ou senha incorretos")
    assert not no_access.wsgi_request.user.is_authenticated


def test_on_the_public_host_a_non_manager_gets_the_wrong_password_answer(clinic_a):
    boss, someone = manager(clinic_a.chain), person()

    wrong_password = _post(settings.BASE_DOMAIN, boss.email, "typo")
    not_a_manager = _post(settings.BASE_DOMAIN, someone.email, PASSWORD, ip="198.51.100.8")

    assert _alert(wrong_password) == _alert(not_a_manager)
    assert not not_a_manager.wsgi_request.user.is_authenticated


def test_over_the_limit_the_page_answers_429_and_says_how_long_to_wait(clinic_a):
    user = staff(clinic_a)
    host = clinic_hostname(clinic=clinic_a)
    for _ in range(5):
        _post(host, user.email, "typo")

    blocked = _post(host, user.email, PASSWORD)

    assert blocked.status_code == 429
    wait = int(blocked["Retry-After"])
    assert 0 < wait <= 60
    assert _alert(blocked) == (
        f"Muitas tentativas sem sucesso. Aguarde {wait} segundos e tente de novo."
        if wait > 1
        else "Muitas tentativas sem sucesso. Aguarde 1 segundo e tente de novo."
    )
    assert not blocked.wsgi_request.user.is_authenticated
    # the form keeps the e-mail, so the person can simply try again later
    assert f'value="{user.email}"' in blocked.text


def test_a_right_password_without_access_here_counts_as_a_failure(clinic_a, clinic_b):
    other = staff(clinic_b)
    host = clinic_hostname(clinic=clinic_a)
    for _ in range(5):
        _post(host, other.email, PASSWORD)

    blocked = _post(host, other.email, PASSWORD)

    assert blocked.status_code == 429
    assert _alert(blocked).startswith("Muitas tentativas sem sucesso.")
