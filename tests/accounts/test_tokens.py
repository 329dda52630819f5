"""Signing in, refreshing, signing out: tokens that work only on the host they were issued for."""

import datetime

import jwt
import pytest
import time_machine
from django.utils import timezone

from accounts.models import ClinicMembership
from tests.accounts.conftest import (
    PASSWORD,
    assert_refused,
    bearer,
    host_client,
    manager,
    person,
    sign_in,
    staff,
)

pytestmark = pytest.mark.django_db


def test_a_receptionist_signs_in_on_her_clinic_and_sees_who_she_is(clinic_a):
    user = staff(clinic_a, "receptionist")

    pair = sign_in(user, clinic_a)
    me = bearer(host_client(clinic_a), pair["access"]).get("/api/v1/me/")

    assert pair["scope"]["scope"] == "clinic"
    assert pair["scope"]["clinic"] == "clinic_a"
    assert 5 * 60 <= pair["access_expires_in"] <= 15 * 60
    assert me.status_code == 200
    body = me.json()
    assert (body["email"], body["role"], body["token_scope"]) == (
        user.email,
        "receptionist",
        "clinic",
    )
    assert (body["clinic"]["slug"], body["clinic"]["role"]) == ("clinic_a", "receptionist")
    assert [c["slug"] for c in body["clinics"]] == ["clinic_a"]


def test_the_access_token_carries_its_clinic_scope(clinic_a):
    pair = sign_in(staff(clinic_a, "clinician"), clinic_a)

    claims = jwt.decode(pair["access"], options={"verify_signature": False})

    assert (claims["scope"], claims["clinic"], claims["role"]) == (
        "clinic",
        "clinic_a",
        "clinician",
    )


def test_staff_cannot_sign_in_at_a_clinic_where_they_have_no_role(clinic_a, clinic_b):
    user = staff(clinic_a)

    response = host_client(clinic_b).post(
        "/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
    )

    assert_refused(response, "invalid_credentials")


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(clinic_a):
    user = staff(clinic_a)

    response = host_client(clinic_a).post(
        "/api/v1/auth/token/", {"email": user.email, "password": "nope"}, format="json"
    )

    assert_refused(response, "invalid_credentials")


def test_sign_in_without_an_email_names_the_field(clinic_a):
    response = host_client(clinic_a).post("/api/v1/auth/token/", {"password": "x"}, format="json")

    assert response.status_code == 400
    assert [e["attr"] for e in response.json()["errors"]] == ["email"]


def test_an_invited_person_without_password_cannot_sign_in(clinic_a):
    invited = person("invited")
    invited.set_unusable_password()
    invited.save()
    ClinicMembership.objects.create(user=invited, clinic=clinic_a, role="clinician")

    response = host_client(clinic_a).post(
        "/api/v1/auth/token/", {"email": invited.email, "password": ""}, format="json"
    )

    assert response.status_code in (400, 401)


def test_a_chain_manager_signs_in_on_the_public_host_and_sees_their_chains(clinic_a, clinic_c):
    user = manager(clinic_a.chain)

    pair = sign_in(user)
    me = bearer(host_client(), pair["access"]).get("/api/v1/me/")

    assert pair["scope"] == {
        "scope": "chain",
        "clinic": None,
        "role": None,
        "chains": [clinic_a.chain_id],
        "clinics": None,
        "access": None,
    }
    assert me.status_code == 200
    assert [c["slug"] for c in me.json()["chains"]] == ["rede_sol"]
    assert me.json()["clinic"] is None


def test_staff_without_a_chain_cannot_sign_in_on_the_public_host(clinic_a):
    user = staff(clinic_a)

    response = host_client().post(
        "/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
    )

    assert_refused(response, "invalid_credentials")


def test_a_platform_operator_gets_a_public_host_token(clinic_a):
    operator = person("operator", is_staff=True)

    pair = sign_in(operator)
    chains = bearer(host_client(), pair["access"]).get("/api/v1/chains/")

    assert pair["scope"]["scope"] == "chain"
    assert chains.status_code == 200
    assert "rede_sol" in [c["slug"] for c in chains.json()]


def test_refresh_rotates_and_the_old_refresh_token_is_then_refused(clinic_a):
    pair = sign_in(staff(clinic_a), clinic_a)
    client = host_client(clinic_a)

    first = client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    again = client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")

    assert first.status_code == 200
    assert first.json()["refresh"] != pair["refresh"]
    assert (
        bearer(host_client(clinic_a), first.json()["access"]).get("/api/v1/me/").status_code == 200
    )
    assert_refused(again, "token_blacklisted")


def test_refresh_picks_up_a_changed_role(clinic_a):
    user = staff(clinic_a, "receptionist")
    pair = sign_in(user, clinic_a)
    ClinicMembership.objects.filter(user=user).update(role="clinic_admin")

    response = host_client(clinic_a).post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )

    assert response.json()["scope"]["role"] == "clinic_admin"


def test_a_refresh_token_of_clinic_a_is_refused_at_clinic_b(clinic_a, clinic_b):
    user = staff(clinic_a)
    ClinicMembership.objects.create(user=user, clinic=clinic_b, role="receptionist")
    pair = sign_in(user, clinic_a)

    response = host_client(clinic_b).post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )

    assert_refused(response, "token_scope_mismatch")


def test_a_refresh_token_of_a_clinic_is_refused_on_the_public_host(clinic_a):
    pair = sign_in(staff(clinic_a), clinic_a)

    response = host_client().post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )

    assert_refused(response, "token_scope_mismatch")


def test_a_manager_refresh_token_is_refused_on_a_clinic_host(clinic_a):
    pair = sign_in(manager(clinic_a.chain))

    response = host_client(clinic_a).post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )

    assert_refused(response, "token_scope_mismatch")


def test_refresh_after_the_membership_was_deactivated_is_refused(clinic_a):
    user = staff(clinic_a)
    pair = sign_in(user, clinic_a)
    ClinicMembership.objects.filter(user=user).update(is_active=False)

    response = host_client(clinic_a).post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )

    assert_refused(response, "membership_inactive")


def test_an_access_token_is_not_accepted_as_a_refresh_token(clinic_a):
    pair = sign_in(staff(clinic_a), clinic_a)

    response = host_client(clinic_a).post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["access"]}, format="json"
    )

    assert_refused(response, "token_not_valid")


def test_logout_revokes_the_refresh_token(clinic_a):
    pair = sign_in(staff(clinic_a), clinic_a)
    client = host_client(clinic_a)

    logout = client.post("/api/v1/auth/logout/", {"refresh": pair["refresh"]}, format="json")
    twice = client.post("/api/v1/auth/logout/", {"refresh": pair["refresh"]}, format="json")
    refresh = client.post(
        "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
    )

    assert (logout.status_code, twice.status_code) == (204, 204)
    assert_refused(refresh, "token_blacklisted")


def test_logout_with_another_clinics_refresh_token_is_refused(clinic_a, clinic_b):
    pair = sign_in(staff(clinic_a), clinic_a)

    response = host_client(clinic_b).post(
        "/api/v1/auth/logout/", {"refresh": pair["refresh"]}, format="json"
    )

    assert_refused(response, "token_scope_mismatch")


def test_deactivating_a_membership_takes_effect_on_the_next_request(clinic_a):
    user = staff(clinic_a)
    client = bearer(host_client(clinic_a), sign_in(user, clinic_a)["access"])
    assert client.get("/api/v1/me/").status_code == 200

    ClinicMembership.objects.filter(user=user).update(is_active=False)

    assert_refused(client.get("/api/v1/me/"), "membership_inactive")


def test_a_deactivated_user_account_is_refused(clinic_a):
    user = staff(clinic_a)
    client = bearer(host_client(clinic_a), sign_in(user, clinic_a)["access"])

    user.is_active = False
    user.save()

    assert_refused(client.get("/api/v1/me/"), "membership_inactive")


def test_an_expired_access_token_is_refused(clinic_a):
    pair = sign_in(staff(clinic_a), clinic_a)
    client = bearer(host_client(clinic_a), pair["access"])

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16), tick=False):
        response = client.get("/api/v1/me/")

    assert_refused(response, "token_expired")


def test_an_expired_refresh_token_is_refused(clinic_a):
    pair = sign_in(staff(clinic_a), clinic_a)

    with time_machine.travel(timezone.now() + datetime.timedelta(days=2), tick=False):
        response = host_client(clinic_a).post(
            "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
        )

    assert_refused(response, "token_expired")


def test_a_token_signed_with_another_key_is_refused(clinic_a):
    pair = sign_in(staff(clinic_a), clinic_a)
    claims = jwt.decode(pair["access"], options={"verify_signature": False})
    forged = jwt.encode(claims, "not-our-signing-key-but-long-enough-for-hs256", algorithm="HS256")

    response = bearer(host_client(clinic_a), forged).get("/api/v1/me/")

    assert_refused(response, "token_not_valid")


def test_a_token_whose_clinic_claim_was_edited_is_refused(clinic_a, clinic_b):
    pair = sign_in(staff(clinic_a), clinic_a)
    head, _payload, signature = pair["access"].split(".")
    claims = jwt.decode(pair["access"], options={"verify_signature": False})
    claims["clinic"] = "clinic_b"
    edited_payload = jwt.encode(claims, "x" * 40, algorithm="HS256").split(".")[1]

    response = bearer(host_client(clinic_b), f"{head}.{edited_payload}.{signature}").get(
        "/api/v1/me/"
    )

    assert_refused(response, "token_not_valid")


def test_a_plain_simplejwt_token_without_scope_is_refused(clinic_a):
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken.for_user(staff(clinic_a))

    response = bearer(host_client(clinic_a), str(token)).get("/api/v1/me/")

    assert_refused(response, "token_not_valid")


@pytest.mark.parametrize(
    "header, code",
    [
        ("Bearer", "authorization_header_malformed"),
        ("Bearer a b", "authorization_header_malformed"),
        ("Bearer not-a-jwt", "token_not_valid"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA", "token_not_valid"),
    ],
)
def test_a_malformed_authorization_header_is_refused(clinic_a, header, code):
    client = host_client(clinic_a, HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/me/")

    assert_refused(response, code)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_answers_401_with_the_error_body(clinic_a):
    response = host_client(clinic_a).get("/api/v1/me/")

    assert_refused(response, "not_authenticated")


def test_the_shared_jwt_client_fixture_signs_in_for_real(clinic_a, jwt_client):
    client = jwt_client(clinic_a, "clinician")

    me = client.get("/api/v1/me/")

    assert (me.json()["role"], me.json()["token_scope"]) == ("clinician", "clinic")
