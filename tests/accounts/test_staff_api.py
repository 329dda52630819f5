"""Clinic admins manage their clinic's staff: list, invite, change role, deactivate."""

import pytest

from accounts.models import ClinicMembership, User
from tests.accounts.conftest import assert_refused, bearer, host_client, sign_in, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(clinic_a):
    admin = staff(clinic_a, "clinic_admin")
    return bearer(host_client(clinic_a), sign_in(admin, clinic_a)["access"])


def test_an_admin_lists_the_clinics_staff_only(clinic_a, clinic_b, admin_api):
    colleague = staff(clinic_a, "clinician")
    stranger = staff(clinic_b, "clinician")

    emails = [member["email"] for member in admin_api.get("/api/v1/staff/").json()]

    assert colleague.email in emails
    assert stranger.email not in emails


def test_an_admin_invites_a_new_person_who_cannot_sign_in_yet(clinic_a, admin_api):
    response = admin_api.post(
        "/api/v1/staff/",
        {"email": "Ana@Centro.test", "full_name": "Ana Souza", "role": "clinician"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["role"], body["can_sign_in"]) == (
        "ana@centro.test",
        "clinician",
        False,
    )
    assert not User.objects.get(email="ana@centro.test").has_usable_password()


def test_inviting_an_address_with_an_account_elsewhere_answers_as_for_a_new_one(
    clinic_a, clinic_b, admin_api
):
    elsewhere = staff(clinic_b, "receptionist")
    User.objects.filter(pk=elsewhere.pk).update(full_name="Bruno Segredo")
    sign_in(elsewhere, clinic_b)  # an active account, with a password, used at clinic B

    def invited(email: str, **extra) -> dict:
        response = admin_api.post(
            "/api/v1/staff/", {"email": email, "role": "receptionist", **extra}, format="json"
        )
        assert response.status_code == 201, response.content
        body = response.json()
        return {
            key: value for key, value in body.items() if key not in ("id", "email", "created_at")
        }

    answers = [invited(elsewhere.email), invited("novo@centro.test")]
    typed = [
        invited(staff(clinic_b).email, full_name="Bia"),
        invited("nova@centro.test", full_name="Bia"),
    ]
    listed = {m["email"]: m for m in admin_api.get("/api/v1/staff/").json()}

    assert (
        answers[0]
        == answers[1]
        == {
            "full_name": "",
            "role": "receptionist",
            "is_active": True,
            "can_sign_in": False,
        }
    )
    assert typed[0] == typed[1] and typed[0]["full_name"] == "Bia"
    assert "Bruno" not in admin_api.get("/api/v1/staff/").content.decode()
    assert listed[elsewhere.email]["can_sign_in"] is False
    assert ClinicMembership.objects.filter(user=elsewhere).count() == 2

    sign_in(elsewhere, clinic_a)  # joining clinic A is what makes it "can sign in" here

    listed = {m["email"]: m for m in admin_api.get("/api/v1/staff/").json()}
    assert listed[elsewhere.email]["can_sign_in"] is True
    assert listed[elsewhere.email]["full_name"] == ""


def test_inviting_someone_already_on_the_staff_names_the_email(clinic_a, admin_api):
    member = staff(clinic_a)

    response = admin_api.post(
        "/api/v1/staff/", {"email": member.email, "role": "clinician"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "email"


def test_an_unknown_role_names_the_field(admin_api):
    response = admin_api.post(
        "/api/v1/staff/", {"email": "x@y.test", "role": "surgeon"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "role"


def test_a_role_change_takes_effect_on_the_members_next_request(clinic_a, admin_api):
    member = staff(clinic_a, "receptionist")
    member_api = bearer(host_client(clinic_a), sign_in(member, clinic_a)["access"])
    membership = ClinicMembership.objects.get(user=member)
    assert member_api.get("/api/v1/me/").json()["role"] == "receptionist"

    response = admin_api.patch(
        f"/api/v1/staff/{membership.pk}/", {"role": "clinician"}, format="json"
    )

    assert response.status_code == 200
    assert member_api.get("/api/v1/me/").json()["role"] == "clinician"


def test_deactivating_a_member_refuses_their_token_at_once(clinic_a, admin_api):
    member = staff(clinic_a, "receptionist")
    member_api = bearer(host_client(clinic_a), sign_in(member, clinic_a)["access"])
    membership = ClinicMembership.objects.get(user=member)

    response = admin_api.post(f"/api/v1/staff/{membership.pk}/deactivate/")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert_refused(member_api.get("/api/v1/me/"), "membership_inactive")


def test_the_last_clinic_admin_cannot_be_demoted_or_deactivated(clinic_a):
    ClinicMembership.objects.filter(clinic=clinic_a, role="clinic_admin").update(is_active=False)
    admin = staff(clinic_a, "clinic_admin")
    api = bearer(host_client(clinic_a), sign_in(admin, clinic_a)["access"])
    own = ClinicMembership.objects.get(user=admin)

    demote = api.patch(f"/api/v1/staff/{own.pk}/", {"role": "clinician"}, format="json")
    deactivate = api.post(f"/api/v1/staff/{own.pk}/deactivate/")

    assert demote.status_code == 400
    assert demote.json()["errors"][0]["attr"] == "role"
    assert deactivate.status_code == 400
    assert ClinicMembership.objects.get(pk=own.pk).role == "clinic_admin"


def test_another_clinics_membership_is_not_found(clinic_a, clinic_b, admin_api):
    stranger = ClinicMembership.objects.get(user=staff(clinic_b))

    response = admin_api.post(f"/api/v1/staff/{stranger.pk}/deactivate/")

    assert response.status_code == 404
    assert ClinicMembership.objects.get(pk=stranger.pk).is_active


@pytest.mark.parametrize("role", ["receptionist", "clinician"])
def test_only_clinic_admins_manage_staff(clinic_a, role):
    api = bearer(host_client(clinic_a), sign_in(staff(clinic_a, role), clinic_a)["access"])

    assert api.get("/api/v1/staff/").status_code == 403
    assert (
        api.post("/api/v1/staff/", {"email": "a@b.test", "role": "clinician"}, format="json")
    ).status_code == 403
