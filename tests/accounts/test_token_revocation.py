"""Sessions end when the password changes, and at the latest a fixed time after signing in."""

import datetime

import jwt
import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.management.commands import changepassword
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.services import user_password_set
from tests.accounts.conftest import (
    assert_refused,
    bearer,
    host_client,
    manager,
    person,
    sign_in,
    staff,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "outra-Senha-Forte-2027"


def _refresh(pair: dict, clinic=None):
    return host_client(clinic).post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def operator_browser() -> Client:
    browser = Client(HTTP_HOST=settings.BASE_DOMAIN)
    browser.force_login(person("operator", is_staff=True, is_superuser=True))
    return browser


# --- a changed password -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        {"usable_password": "false", "unset-password": "1"},
    ],
    ids=["new password", "password sign-in disabled"],
)
def test_an_operator_changing_a_password_in_the_admin_ends_that_persons_sessions(
    clinic_a, operator_browser, form
):
    user = staff(clinic_a)
    pair = sign_in(user, clinic_a)

    changed = operator_browser.post(f"/admin/accounts/user/{user.pk}/password/", form)

    assert changed["Location"] == f"/admin/accounts/user/{user.pk}/change/"
    assert_refused(_refresh(pair, clinic_a), "password_changed")
    assert_refused(
        bearer(host_client(clinic_a), pair["access"]).get("/api/v1/me/"), "password_changed"
    )


def test_a_password_set_through_the_accounts_service_ends_the_sessions_before_it(clinic_a):
    user = manager(clinic_a.chain)
    before = sign_in(user)

    user_password_set(user=user, password=NEW_PASSWORD)

    assert_refused(_refresh(before), "password_changed")
    assert_refused(bearer(host_client(), before["access"]).get("/api/v1/me/"), "password_changed")


def test_signing_in_with_the_new_password_gives_a_session_that_refreshes(clinic_a):
    user = staff(clinic_a)
    user_password_set(user=user, password=NEW_PASSWORD)

    response = host_client(clinic_a).post(
        "/api/v1/auth/token/", {"email": user.email, "password": NEW_PASSWORD}, format="json"
    )
    refreshed = _refresh(response.json(), clinic_a)

    assert refreshed.status_code == 200, refreshed.content
    access = refreshed.json()["access"]
    assert bearer(host_client(clinic_a), access).get("/api/v1/me/").status_code == 200


def test_manage_py_changepassword_ends_the_sessions_before_it(clinic_a, monkeypatch):
    user = staff(clinic_a)
    pair = sign_in(user, clinic_a)
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)

    call_command("changepassword", user.email, stdout=None)

    assert_refused(_refresh(pair, clinic_a), "password_changed")


def test_the_accounts_service_refuses_a_weak_password_and_names_the_field(clinic_a):
    user = staff(clinic_a)
    pair = sign_in(user, clinic_a)

    with pytest.raises(ValidationError) as refused:
        user_password_set(user=user, password="12345678")

    assert "password" in refused.value.message_dict
    assert _refresh(pair, clinic_a).status_code == 200


# --- the session's absolute lifetime ------------------------------------------------------------


def test_refreshing_never_carries_a_session_past_seven_days_after_sign_in(clinic_a):
    signed_in_at = timezone.now()
    with time_machine.travel(signed_in_at, tick=False) as clock:
        pair = sign_in(staff(clinic_a), clinic_a)
        auth_time = _claims(pair["refresh"])["auth_time"]
        for _ in range(7):  # a client that refreshes every 23 hours, up to 161 hours in
            clock.shift(datetime.timedelta(hours=23))
            response = _refresh(pair, clinic_a)
            assert response.status_code == 200, response.content
            pair = response.json()
            assert _claims(pair["refresh"])["auth_time"] == auth_time
            assert _claims(pair["access"])["auth_time"] == auth_time

        # The last refresh token says the session ends at 168 hours, not 161 + 24.
        assert pair["refresh_expires_in"] == 7 * 3600
        clock.shift(datetime.timedelta(hours=7, seconds=1))
        assert_refused(_refresh(pair, clinic_a), "token_expired")


def test_sessions_older_than_a_shortened_absolute_lifetime_end_at_their_next_refresh(
    clinic_a, settings
):
    pair = sign_in(staff(clinic_a), clinic_a)
    settings.CLINICO_REFRESH_ABSOLUTE_LIFETIME = datetime.timedelta(hours=1)

    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2), tick=False):
        response = _refresh(pair, clinic_a)

    assert_refused(response, "session_expired")
