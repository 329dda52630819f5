"""The access trail: one entry per read or change of patient data, append-only in the database."""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import AccessEntry
from audit.services import access_trail_purge
from patients.models import Patient
from tenants.services import chain_create, clinic_provision
from tests.accounts.conftest import bearer, host_client, partner
from tests.checkin_factories import staff_client, staff_user

pytestmark = pytest.mark.django_db

CPF = "52998224725"
OTHER_CPF = "15350946056"


@pytest.fixture
def patient(clinic_a):
    with clinic_a:
        return Patient.objects.create(
            cpf=CPF, full_name="Maria da Silva", birth_date=datetime.date(1958, 3, 14)
        )


def _entries(clinic) -> list[AccessEntry]:
    with clinic:
        return list(AccessEntry.objects.order_by("id"))


def test_a_search_hit_leaves_one_entry_with_the_receptionist_and_the_fields_shown(
    clinic_a, patient
):
    user = staff_user(clinic_a, "receptionist")
    client = staff_client(clinic_a, user=user)

    response = client.post(
        "/api/v1/patients/search/",
        {"cpf": CPF},
        format="json",
        HTTP_X_ACCESS_PURPOSE="check-in at the desk",
        REMOTE_ADDR="192.0.2.10",
    )

    assert response.status_code == 200
    [entry] = _entries(clinic_a)
    assert (entry.action, entry.patient_id, entry.user_id, entry.role) == (
        "search",
        patient.pk,
        user.pk,
        "receptionist",
    )
    assert "cpf" in entry.fields and "full_name" in entry.fields
    assert (entry.address, entry.purpose) == ("192.0.2.10", "check-in at the desk")


def test_a_search_that_finds_nobody_leaves_no_entry(clinic_a, patient):
    response = staff_client(clinic_a).post(
        "/api/v1/patients/search/", {"cpf": OTHER_CPF}, format="json"
    )

    assert response.json() == []
    assert _entries(clinic_a) == []


def test_a_partner_search_hit_is_recorded_with_the_partner_and_only_what_it_saw(clinic_a, patient):
    client, access = partner([clinic_a], scope="read_write")

    response = bearer(host_client(clinic_a), access).post(
        "/api/v1/patients/search/", {"cpf": CPF}, format="json"
    )

    assert response.status_code == 200
    [entry] = _entries(clinic_a)
    assert (entry.role, entry.partner_client_id, entry.user_id) == (
        "partner",
        client.client_id,
        None,
    )
    assert entry.fields == ["cpf_masked", "display_name"]


def test_a_detail_view_leaves_one_entry_with_the_clinic_admin(clinic_a, patient):
    admin = staff_user(clinic_a, "clinic_admin")

    response = staff_client(clinic_a, user=admin).get(f"/api/v1/patients/{patient.pk}/")

    assert response.status_code == 200
    [entry] = _entries(clinic_a)
    assert (entry.action, entry.patient_id, entry.user_id, entry.role) == (
        "view",
        patient.pk,
        admin.pk,
        "clinic_admin",
    )
    assert {"cpf", "full_name", "birth_date", "phone", "email"} <= set(entry.fields)


def test_a_correction_leaves_one_entry_naming_the_changed_fields(clinic_a, patient):
    user = staff_user(clinic_a, "receptionist")

    response = staff_client(clinic_a, user=user).patch(
        f"/api/v1/patients/{patient.pk}/", {"phone": "+55 11 98888-7777"}, format="json"
    )

    assert response.status_code == 200
    [entry] = _entries(clinic_a)
    assert (entry.action, entry.fields, entry.user_id) == ("update", ["phone"], user.pk)


def test_a_refused_read_leaves_no_entry(clinic_a, patient):
    response = staff_client(clinic_a, "clinician").get(f"/api/v1/patients/{patient.pk}/")

    assert response.status_code == 403
    assert _entries(clinic_a) == []


def _one_entry(clinic) -> AccessEntry:
    with clinic:
        return AccessEntry.objects.create(patient_id=1, action="view", role="receptionist")


def _refused(clinic, sql: str, params=()) -> None:
    with (
        clinic,
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def test_the_trail_cannot_be_changed_or_deleted_through_the_orm(clinic_a):
    entry = _one_entry(clinic_a)
    with clinic_a:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AccessEntry.objects.filter(pk=entry.pk).update(purpose="nothing to see")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            entry.delete()
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            entry.role = "clinic_admin"
            entry.save()
        assert AccessEntry.objects.get(pk=entry.pk).role == "receptionist"


def test_the_trail_cannot_be_changed_deleted_or_truncated_in_raw_sql(clinic_a):
    entry = _one_entry(clinic_a)

    _refused(clinic_a, "UPDATE audit_accessentry SET user_id = 99 WHERE id = %s", [entry.pk])
    _refused(clinic_a, "DELETE FROM audit_accessentry WHERE id = %s", [entry.pk])
    _refused(clinic_a, "TRUNCATE audit_accessentry")

    with clinic_a:
        assert AccessEntry.objects.filter(pk=entry.pk, user_id=None).exists()


def test_a_freshly_provisioned_clinic_refuses_to_change_its_trail(db):
    chain = chain_create(name="Rede Nova", slug="rede_nova")
    clinic = clinic_provision(
        chain=chain, name="Clínica Nova", slug="nova_trilha", timezone="America/Sao_Paulo"
    )
    entry = _one_entry(clinic)

    _refused(clinic, "UPDATE audit_accessentry SET action = 'search' WHERE id = %s", [entry.pk])
    _refused(clinic, "DELETE FROM audit_accessentry WHERE id = %s", [entry.pk])


def test_only_entries_past_the_floor_can_be_purged(clinic_a):
    now = timezone.now()
    with clinic_a:
        old = AccessEntry.objects.create(
            patient_id=1, action="view", at=now - datetime.timedelta(days=400)
        )
        recent = AccessEntry.objects.create(patient_id=1, action="view")
        assert access_trail_purge(before=now - datetime.timedelta(days=365)) == 1
        assert list(AccessEntry.objects.values_list("id", flat=True)) == [recent.pk]
        assert old.pk != recent.pk
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            access_trail_purge(before=now + datetime.timedelta(days=1))


def test_a_check_in_leaves_one_entry_with_its_receptionist_even_when_redelivered(clinic_a):
    from queueing.services.checkins import checkin_create, checkin_process

    user = staff_user(clinic_a, "receptionist")
    with clinic_a:
        checkin, _ = checkin_create(
            cpf=CPF,
            registration={"full_name": "Maria da Silva", "birth_date": "1958-03-14"},
            actor=user,
        )
        processed = checkin_process(checkin_id=checkin.pk)
        checkin_process(checkin_id=checkin.pk)  # a redelivered task

    [entry] = _entries(clinic_a)
    assert (entry.action, entry.patient_id, entry.user_id) == (
        "checkin",
        processed.patient_id,
        user.pk,
    )
    assert entry.fields == ["birth_date", "cpf", "full_name"]


def test_a_check_in_entry_names_the_person_their_role_and_address_like_every_entry(
    clinic_a, patient
):
    from queueing.services.checkins import checkin_process

    user = staff_user(clinic_a, "receptionist")
    client = staff_client(clinic_a, user=user)
    _client, access = partner([clinic_a], scope="read_write")
    kiosk = bearer(host_client(clinic_a), access)
    body = {"cpf": CPF, "patient": {"full_name": "Maria da Silva", "birth_date": "1958-03-14"}}

    ids = [
        api.post("/api/v1/check-ins/", body, format="json", REMOTE_ADDR=address).json()["id"]
        for api, address in ((client, "192.0.2.44"), (kiosk, "198.51.100.9"))
    ]
    with clinic_a:
        for checkin_id in ids:
            checkin_process(checkin_id=checkin_id)

    entries = [e for e in _entries(clinic_a) if e.action == "checkin"]
    assert [(e.user_id, e.user_email, e.role, e.address) for e in entries] == [
        (user.pk, user.email, "receptionist", "192.0.2.44"),
        (None, "", "partner", "198.51.100.9"),
    ]
    assert entries[1].partner_client_id == _client.client_id


def test_a_booking_entry_names_the_persons_role_and_address(clinic_a, patient):
    user = staff_user(clinic_a, "receptionist")
    client = staff_client(clinic_a, user=user)
    tomorrow = (timezone.now() + datetime.timedelta(days=1)).replace(microsecond=0)
    with clinic_a:
        from queueing.models import Service

        service_id = Service.objects.get(is_default=True).pk

    booked = client.post(
        "/api/v1/appointments/",
        {"cpf": CPF, "service": service_id, "scheduled_at": tomorrow.isoformat()},
        format="json",
        REMOTE_ADDR="192.0.2.45",
    )

    assert booked.status_code == 201, booked.content
    (entry,) = [e for e in _entries(clinic_a) if e.action == "booking"]
    assert (entry.user_email, entry.role, entry.address) == (
        user.email,
        "receptionist",
        "192.0.2.45",
    )


def test_a_purpose_with_a_separator_and_a_formula_stays_one_text_cell_in_the_csv(clinic_a):
    import csv
    import io
    import zoneinfo

    from audit.selectors import access_entries_csv
    from audit.services import AccessActor, access_record

    with clinic_a:
        patient = Patient.objects.create(cpf="52998224725", full_name="Maria da Silva")
        actor = AccessActor(
            user_id=None, user_email="r@x.test", role="receptionist", partner_client_id="",
            address="127.0.0.1", purpose=';=HYPERLINK("http://evil.example";"x"),=1',
        )  # fmt: skip
        access_record(actor=actor, action="view", patient_ids=[patient.pk])
        text = "".join(
            access_entries_csv(
                entries=AccessEntry.objects.filter(patient_id=patient.pk),
                zone=zoneinfo.ZoneInfo("America/Sao_Paulo"),
            )
        )

    # Split by either separator a spreadsheet may expect, no cell starts a formula.
    for delimiter in (",", ";"):
        line = next(csv.reader(io.StringIO(text.splitlines()[1]), delimiter=delimiter))
        cells = [piece for cell in line for piece in cell.replace(";", ",").split(",")]
        assert not [cell for cell in cells if cell.lstrip('"').startswith(("=", "+", "@"))]
