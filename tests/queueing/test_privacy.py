"""A patient's LGPD requests answered by a clinic admin: export, anonymise; and who may not."""

import datetime
import json

import pytest
import time_machine
from django.utils import timezone

from audit.models import AccessEntry
from patients.models import Patient
from queueing.models import CheckIn
from queueing.selectors.figures import day_figures_get
from queueing.services import workflow
from queueing.services.checkins import IdempotencyKeyReused, checkin_create, checkin_process
from queueing.services.retention import retention_apply
from tests.accounts.conftest import bearer, host_client, manager, sign_in
from tests.checkin_factories import staff_client, staff_user
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

CPF = "52998224725"


@pytest.fixture
def maria(clinic_a) -> Patient:
    with clinic_a:
        return Patient.objects.create(
            cpf=CPF,
            full_name="Maria da Silva",
            birth_date=datetime.date(1958, 3, 14),
            phone="+55 11 91234-5678",
            email="maria@example.com",
        )


def _visit_done(patient: Patient):
    """A ticket of `patient` called, started and finished at a desk."""
    service = f.reception()
    ticket = f.ticket_issue(patient=patient, service=service)
    desk = f.desk(f"Guichê {ticket.pk}", service)
    workflow.ticket_call_next(desk_id=desk.pk)
    workflow.ticket_start(ticket_id=ticket.pk)
    return workflow.ticket_finish(ticket_id=ticket.pk)


def _admin(clinic):
    return staff_client(clinic, "clinic_admin")


def test_an_export_holds_every_ticket_of_the_patient_and_nothing_of_anyone_else(
    clinic_a, clinic_b, maria
):
    with clinic_a:
        checkin, _ = checkin_create(cpf=CPF)
        checkin_process(checkin_id=checkin.pk)
        first = CheckIn.objects.get(pk=checkin.pk).ticket
        workflow.ticket_cancel(ticket_id=first.pk, reason="left")
        second = _visit_done(maria)
        others = [f.waiting(f.reception()).pk for _ in range(2)]
    with clinic_b:
        Patient.objects.create(cpf=CPF, full_name="Maria da Silva (B)")

    response = _admin(clinic_a).get(f"/api/v1/patients/{maria.pk}/export/")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    export = json.loads(response.content)
    assert export["record"]["cpf"] == CPF and export["record"]["full_name"] == "Maria da Silva"
    assert {t["id"] for t in export["tickets"]} == {first.pk, second.pk}
    assert {e["ticket_id"] for e in export["ticket_events"]} == {first.pk, second.pk}
    assert [c["id"] for c in export["check_ins"]] == [str(checkin.pk)]
    text = response.content.decode()
    assert "Maria da Silva (B)" not in text
    assert not set(others) & {t["id"] for t in export["tickets"]}
    with clinic_a:
        [entry] = AccessEntry.objects.filter(action="export")
    assert entry.patient_id == maria.pk


def test_an_export_includes_the_trail_entries_about_the_patient(clinic_a, maria):
    staff_client(clinic_a).get(f"/api/v1/patients/{maria.pk}/")

    export = _admin(clinic_a).get(f"/api/v1/patients/{maria.pk}/export/").json()

    assert [entry["action"] for entry in export["access_trail"]] == ["view"]


def test_after_anonymising_the_old_cpf_finds_nothing_and_the_days_figures_stay(clinic_a, maria):
    with clinic_a:
        checkin, _ = checkin_create(
            cpf=CPF, registration={"full_name": "Maria da Silva", "birth_date": "1958-03-14"}
        )
        checkin_process(checkin_id=checkin.pk)
        ticket = CheckIn.objects.get(pk=checkin.pk).ticket
        workflow.ticket_cancel(ticket_id=ticket.pk, reason="asked to leave")
        _visit_done(maria)
        f.waiting(f.reception())
        before = day_figures_get(service_day=ticket.service_day)

    admin = staff_user(clinic_a, "clinic_admin")
    response = staff_client(clinic_a, user=admin).post(
        f"/api/v1/patients/{maria.pk}/anonymise/",
        {"reason": "Pedido da titular por e-mail em 29/11"},
        format="json",
    )

    assert response.status_code == 200, response.content
    search = staff_client(clinic_a).post("/api/v1/patients/search/", {"cpf": CPF}, format="json")
    assert search.json() == []
    with clinic_a:
        assert day_figures_get(service_day=ticket.service_day) == before
        record = Patient.objects.get(pk=maria.pk)
        assert (record.cpf, record.full_name, record.birth_date, record.phone) == (
            None,
            "",
            None,
            "",
        )
        assert record.tickets.count() == 2
        assert not CheckIn.objects.filter(cpf=CPF).exists()
        assert CheckIn.objects.get(pk=checkin.pk).registration == {}
        [entry] = AccessEntry.objects.filter(action="anonymise")
    assert (entry.user_id, entry.patient_id, entry.purpose) == (
        admin.pk,
        maria.pk,
        "Pedido da titular por e-mail em 29/11",
    )


def test_anonymising_is_refused_while_the_patient_holds_an_open_ticket_today(clinic_a, maria):
    with clinic_a:
        f.ticket_issue(patient=maria, service=f.reception())

    response = _admin(clinic_a).post(
        f"/api/v1/patients/{maria.pk}/anonymise/", {"reason": "pedido"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "patient"
    with clinic_a:
        assert Patient.objects.get(pk=maria.pk).cpf == CPF
        assert not AccessEntry.objects.filter(action="anonymise").exists()


def test_anonymising_needs_a_reason(clinic_a, maria):
    response = _admin(clinic_a).post(f"/api/v1/patients/{maria.pk}/anonymise/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "reason"


@pytest.mark.parametrize("role", ["receptionist", "clinician"])
def test_other_clinic_roles_can_neither_export_nor_anonymise(clinic_a, maria, role):
    client = staff_client(clinic_a, role)

    assert client.get(f"/api/v1/patients/{maria.pk}/export/").status_code == 403
    response = client.post(
        f"/api/v1/patients/{maria.pk}/anonymise/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 403
    assert client.get("/api/v1/access-trail/").status_code == 403
    with clinic_a:
        assert Patient.objects.get(pk=maria.pk).cpf == CPF


def test_a_chain_manager_can_neither_export_nor_anonymise(clinic_a, maria):
    client = bearer(host_client(clinic_a), sign_in(manager(clinic_a.chain))["access"])

    assert client.get(f"/api/v1/patients/{maria.pk}/export/").status_code == 403
    response = client.post(
        f"/api/v1/patients/{maria.pk}/anonymise/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 403
    with clinic_a:
        assert Patient.objects.get(pk=maria.pk).cpf == CPF


def test_admins_read_the_trail_filtered_by_patient_and_person_and_as_csv(clinic_a, maria):
    reader = staff_user(clinic_a, "receptionist")
    staff_client(clinic_a, user=reader).get(f"/api/v1/patients/{maria.pk}/")
    staff_client(clinic_a).post("/api/v1/patients/search/", {"cpf": CPF}, format="json")
    admin = _admin(clinic_a)

    by_person = admin.get("/api/v1/access-trail/", {"user": reader.pk}).json()
    by_patient = admin.get("/api/v1/access-trail/", {"patient": maria.pk}).json()
    next_year = (timezone.now() + datetime.timedelta(days=365)).isoformat()
    later = admin.get("/api/v1/access-trail/", {"since": next_year}).json()
    csv = admin.get("/api/v1/access-trail/csv/", {"patient": maria.pk})

    assert [(e["action"], e["user_id"]) for e in by_person] == [("view", reader.pk)]
    assert [e["action"] for e in by_patient] == ["view", "search"]
    assert later == []
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert lines[0].startswith("Quando,Id do usuário,E-mail do usuário,Função")
    assert [line.split(",")[6] for line in lines[1:]] == ["view", "search"]
    bad = admin.get("/api/v1/access-trail/", {"patient": "maria"})
    assert (bad.status_code, bad.json()["errors"][0]["attr"]) == (400, "patient")


def test_processed_check_ins_keep_no_cpf_after_the_idempotency_window(clinic_a, settings):
    settings.CLINICO_CHECKIN_IDEMPOTENCY_HOURS = 24
    registration = {"full_name": "Maria da Silva", "birth_date": "1958-03-14"}
    with clinic_a:
        checkin, _ = checkin_create(cpf=CPF, registration=registration, idempotency_key="k-1")
        checkin_process(checkin_id=checkin.pk)
        pending, _ = checkin_create(cpf="15350946056", registration=registration)

        with time_machine.travel(timezone.now() + datetime.timedelta(hours=23)):
            assert retention_apply().checkins_cleared == 0
        with time_machine.travel(timezone.now() + datetime.timedelta(hours=25)):
            assert retention_apply().checkins_cleared == 1
        kept = CheckIn.objects.get(pk=checkin.pk)
        assert (kept.cpf, kept.registration) == ("", {})
        assert CheckIn.objects.get(pk=pending.pk).cpf == "15350946056"
        # The same request replayed with its key still answers the same check-in.
        again, created = checkin_create(cpf=CPF, idempotency_key="k-1")
        assert (again.pk, created) == (checkin.pk, False)
        with pytest.raises(IdempotencyKeyReused):
            checkin_create(cpf="15350946056", idempotency_key="k-1")


def test_the_daily_reset_clears_check_in_cpfs_past_the_window(clinic_a):
    from queueing.services.day_close import days_close

    with clinic_a:
        checkin, _ = checkin_create(
            cpf=CPF, registration={"full_name": "Maria da Silva", "birth_date": "1958-03-14"}
        )
        checkin_process(checkin_id=checkin.pk)
        with time_machine.travel(timezone.now() + datetime.timedelta(days=2)):
            days_close()
        assert CheckIn.objects.get(pk=checkin.pk).cpf == ""


def test_admins_list_patients_without_a_visit_for_years_for_review(clinic_a, maria, settings):
    settings.CLINICO_PATIENT_REVIEW_AFTER_YEARS = 5
    with clinic_a:
        old = Patient.objects.create(cpf="15350946056", full_name="João Antigo")
        Patient.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - datetime.timedelta(days=6 * 365)
        )
        _visit_done(maria)

    response = _admin(clinic_a).get("/api/v1/patients/review/")

    assert response.status_code == 200
    assert [(p["id"], p["cpf_masked"]) for p in response.json()] == [(old.pk, "***.509.460-**")]
    assert "João" not in response.content.decode()


def test_events_and_record_changes_past_their_retention_are_deleted(clinic_a, maria, settings):
    from patients.models import PatientRecordChange
    from patients.services import patient_update
    from queueing.models import TicketEvent

    settings.CLINICO_EVENT_RETENTION_DAYS = 30
    with clinic_a:
        _visit_done(maria)
        patient_update(patient=maria, data={"phone": "+55 11 90000-0000"})
        with time_machine.travel(timezone.now() + datetime.timedelta(days=29)):
            kept = retention_apply()
        with time_machine.travel(timezone.now() + datetime.timedelta(days=31)):
            purged = retention_apply()
        assert kept.events_deleted == 0
        assert purged.events_deleted > 0
        assert not TicketEvent.objects.exists()
        assert not PatientRecordChange.objects.exists()
        assert maria.tickets.count() == 1


def test_exports_and_anonymisations_have_a_limit_of_their_own_per_person(
    clinic_a, maria, settings, minute_start
):
    settings.CLINICO_PATIENT_EXPORTS_PER_MINUTE = 2
    admin = _admin(clinic_a)
    colleague = _admin(clinic_a)
    with clinic_a:
        others = [
            Patient.objects.create(cpf=cpf, full_name="Outra Pessoa")
            for cpf in ("15350946056", "11144477735")
        ]

    exports = [admin.get(f"/api/v1/patients/{maria.pk}/export/") for _ in range(2)]
    limited = admin.get(f"/api/v1/patients/{others[0].pk}/export/")
    anonymise = admin.post(
        f"/api/v1/patients/{others[1].pk}/anonymise/", {"reason": "pedido"}, format="json"
    )
    search = admin.post("/api/v1/patients/search/", {"cpf": CPF}, format="json")
    by_colleague = colleague.get(f"/api/v1/patients/{others[0].pk}/export/")

    assert [e.status_code for e in exports] == [200, 200]
    assert limited.status_code == 429 and 1 <= int(limited["Retry-After"]) <= 60
    assert "Outra" not in limited.content.decode()
    assert anonymise.status_code == 429
    with clinic_a:
        assert Patient.objects.get(pk=others[1].pk).cpf == "11144477735"  # not erased
    assert search.status_code == 200  # look-ups keep their own count
    assert by_colleague.status_code == 200
