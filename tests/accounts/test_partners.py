"""Partner clients: hashed secrets, tokens for their clinics and scope only, revocation, rate."""

import io

import jwt
import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import PartnerClient
from accounts.services import (
    partner_client_create,
    partner_client_revoke,
    partner_client_secret_rotate,
)
from tenants.models import Clinic
from tests.accounts.conftest import assert_refused, bearer, host_client, partner
from tests.checkin_factories import new_patient_body

pytestmark = pytest.mark.django_db

CPF = "52998224725"


def test_the_secret_is_stored_hashed_and_shown_only_at_creation(clinic_a):
    client, secret = partner_client_create(name="Kiosk", clinics=[clinic_a])

    stored = PartnerClient.objects.get(pk=client.pk).secret_hash

    assert secret not in stored
    assert check_password(secret, stored)


def test_the_partner_token_names_its_client_and_access_but_not_its_clinics(clinic_a, clinic_b):
    client, access = partner([clinic_a, clinic_b], scope="read_write")

    claims = jwt.decode(access, options={"verify_signature": False})

    assert claims["scope"] == "partner"
    assert claims["client_id"] == client.client_id
    assert "clinics" not in claims
    assert claims["access"] == "read_write"
    assert 10 * 60 <= claims["exp"] - claims["iat"] <= 15 * 60


def test_a_partner_of_500_clinics_gets_a_token_under_1_kb_that_reaches_exactly_them(
    clinic_a, clinic_b
):
    # 499 more clinic rows of the chain, named as long as slugs go (bulk_create makes no schema:
    # only the rows matter to the token and to the live check).
    many = Clinic.objects.bulk_create(
        Clinic(
            chain_id=clinic_a.chain_id,
            schema_name=f"rede_sol_unidade_{n:03d}_{'x' * 36}",
            name=f"Unidade {n}",
        )
        for n in range(499)
    )
    client, secret = partner_client_create(name="Agenda", clinics=[clinic_a, *many])

    response = host_client().post(
        "/api/v1/auth/partner-token/",
        {"client_id": client.client_id, "client_secret": secret},
        format="json",
    )
    access = response.json()["access"]
    at_a = bearer(host_client(clinic_a), access).get("/api/v1/queue/")
    at_b = bearer(host_client(clinic_b), access).get("/api/v1/queue/")

    assert len(f"Bearer {access}".encode()) < 1024
    assert len(response.json()["scope"]["clinics"]) == 500
    assert at_a.status_code == 200
    assert_refused(at_b, "token_scope_mismatch")


def test_a_clinic_added_to_a_partner_is_reached_with_the_token_it_already_has(clinic_a, clinic_b):
    client, access = partner([clinic_a], scope="read")
    before = bearer(host_client(clinic_b), access).get("/api/v1/queue/")

    client.clinics.add(clinic_b)
    after = bearer(host_client(clinic_b), access).get("/api/v1/queue/")

    assert_refused(before, "token_scope_mismatch")
    assert after.status_code == 200


def test_a_partner_sees_its_clinics_as_they_are_now_in_me(clinic_a, clinic_b):
    client, access = partner([clinic_a], scope="read")
    client.clinics.add(clinic_b)

    me = bearer(host_client(), access).get("/api/v1/me/")

    assert sorted(c["slug"] for c in me.json()["clinics"]) == ["clinic_a", "clinic_b"]


def test_a_wrong_secret_or_unknown_client_is_refused(clinic_a):
    client, _secret = partner_client_create(name="Kiosk", clinics=[clinic_a])

    wrong = host_client().post(
        "/api/v1/auth/partner-token/",
        {"client_id": client.client_id, "client_secret": "guess"},
        format="json",
    )
    unknown = host_client().post(
        "/api/v1/auth/partner-token/",
        {"client_id": "pc_nobody", "client_secret": "guess"},
        format="json",
    )

    assert_refused(wrong, "invalid_client")
    assert_refused(unknown, "invalid_client")


def test_partner_tokens_are_issued_only_on_the_public_host(clinic_a):
    client, secret = partner_client_create(name="Kiosk", clinics=[clinic_a])

    response = host_client(clinic_a).post(
        "/api/v1/auth/partner-token/",
        {"client_id": client.client_id, "client_secret": secret},
        format="json",
    )

    assert response.status_code == 404


def test_a_read_partner_reads_the_queue_but_cannot_check_in(clinic_a):
    _client, access = partner([clinic_a], scope="read")
    api = bearer(host_client(clinic_a), access)

    queue = api.get("/api/v1/queue/")
    services = api.get("/api/v1/services/")
    check_in = api.post("/api/v1/check-ins/", new_patient_body(CPF), format="json")

    assert (queue.status_code, services.status_code) == (200, 200)
    assert check_in.status_code == 403
    assert check_in.json()["type"] == "client_error"


def test_a_read_write_partner_checks_patients_in_on_its_clinic(clinic_a):
    _client, access = partner([clinic_a], scope="read_write")
    api = bearer(host_client(clinic_a), access)

    response = api.post("/api/v1/check-ins/", new_patient_body(CPF), format="json")

    assert response.status_code == 202, response.content
    assert api.get(response.json()["status_url"]).status_code == 200


def test_a_partner_is_never_shown_a_full_cpf(clinic_a):
    from patients.models import Patient

    with clinic_a:
        Patient.objects.create(cpf=CPF, full_name="Maria da Silva")
    _client, access = partner([clinic_a], scope="read_write")

    found = bearer(host_client(clinic_a), access).post(
        "/api/v1/patients/search/", {"cpf": CPF}, format="json"
    )

    assert found.status_code == 200
    assert found.json() == [{"cpf_masked": "***.982.247-**", "display_name": "Maria da Silva"}]
    assert CPF not in found.content.decode()


def test_a_partner_cannot_manage_staff(clinic_a):
    _client, access = partner([clinic_a], scope="read_write")

    response = bearer(host_client(clinic_a), access).get("/api/v1/staff/")

    assert response.status_code == 403


def test_a_revoked_partner_is_refused_on_its_next_request(clinic_a):
    client, access = partner([clinic_a], scope="read")
    api = bearer(host_client(clinic_a), access)
    assert api.get("/api/v1/queue/").status_code == 200

    partner_client_revoke(client=client)

    assert_refused(api.get("/api/v1/queue/"), "partner_revoked")


def test_removing_a_clinic_from_a_partner_takes_effect_at_once(clinic_a, clinic_b):
    client, access = partner([clinic_a, clinic_b], scope="read")
    client.clinics.remove(clinic_b)

    at_a = bearer(host_client(clinic_a), access).get("/api/v1/queue/")
    at_b = bearer(host_client(clinic_b), access).get("/api/v1/queue/")

    assert at_a.status_code == 200
    assert_refused(at_b, "token_scope_mismatch")


def test_downgrading_a_partner_to_read_stops_its_writes_at_once(clinic_a):
    client, access = partner([clinic_a], scope="read_write")
    PartnerClient.objects.filter(pk=client.pk).update(scope="read")

    response = bearer(host_client(clinic_a), access).post(
        "/api/v1/check-ins/", new_patient_body(CPF), format="json"
    )

    assert response.status_code == 403


def test_a_partner_token_on_the_public_host_shows_me_but_not_the_chain_api(clinic_a):
    client, access = partner([clinic_a])
    api = bearer(host_client(), access)

    me = api.get("/api/v1/me/")
    chains = api.get("/api/v1/chains/")

    assert me.status_code == 200
    assert (me.json()["principal"], me.json()["client_id"]) == ("partner", client.client_id)
    assert chains.status_code == 403


def test_each_partner_has_its_own_rate_limit(clinic_a, minute_start):
    _slow, slow_access = partner([clinic_a], requests_per_minute=3)
    _other, other_access = partner([clinic_a], requests_per_minute=3)
    slow = bearer(host_client(clinic_a), slow_access)

    statuses = [slow.get("/api/v1/services/").status_code for _ in range(4)]
    other = bearer(host_client(clinic_a), other_access).get("/api/v1/services/")

    assert statuses == [200, 200, 200, 429]
    limited = slow.get("/api/v1/services/")
    assert 0 < int(limited["Retry-After"]) <= 60
    assert limited.json()["errors"][0]["code"] == "throttled"
    assert other.status_code == 200


def test_the_command_creates_a_client_and_prints_a_working_secret(clinic_a, clinic_b):
    out = io.StringIO()

    call_command(
        "create_partner_client",
        "--name",
        "Agenda Fácil",
        "--clinics",
        "clinic_a,clinic_b",
        "--scope",
        "read_write",
        stdout=out,
    )
    lines = dict(
        line.split(":", 1) for line in out.getvalue().splitlines() if line.startswith("client_")
    )
    response = host_client().post(
        "/api/v1/auth/partner-token/",
        {"client_id": lines["client_id"].strip(), "client_secret": lines["client_secret"].strip()},
        format="json",
    )

    assert response.status_code == 200
    assert sorted(response.json()["scope"]["clinics"]) == ["clinic_a", "clinic_b"]
    assert response.json()["scope"]["access"] == "read_write"


def test_the_command_names_an_unknown_clinic(clinic_a):
    with pytest.raises(CommandError, match="nowhere"):
        call_command("create_partner_client", "--name", "X", "--clinics", "clinic_a,nowhere")


def test_rotating_a_partner_secret_ends_the_tokens_issued_before(clinic_a):
    client, old_access = partner([clinic_a], scope="read")
    old_api = bearer(host_client(clinic_a), old_access)
    assert old_api.get("/api/v1/queue/").status_code == 200

    secret = partner_client_secret_rotate(client=client)
    fresh = host_client().post(
        "/api/v1/auth/partner-token/",
        {"client_id": client.client_id, "client_secret": secret},
        format="json",
    )

    assert_refused(old_api.get("/api/v1/queue/"), "partner_secret_changed")
    assert_refused(bearer(host_client(), old_access).get("/api/v1/me/"), "partner_secret_changed")
    # A partner token is never a refresh token either, before or after.
    assert_refused(
        host_client(clinic_a).post(
            "/api/v1/auth/token/refresh/", {"refresh": old_access}, format="json"
        )
    )
    new_api = bearer(host_client(clinic_a), fresh.json()["access"])
    assert new_api.get("/api/v1/queue/").status_code == 200
