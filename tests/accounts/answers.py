"""What each clinic endpoint answers someone allowed to call it.

The access matrices (test_roles.py, test_isolation.py) prove who gets past the permission check;
these cases prove the call then does its job for that caller: each one sets up what the call needs
in the clinic (a waiting ticket to call, a called one to start …), and checks the answer's body
(the right ticket code, the right list, the CPF masked or not) and, for writes, the change.
"""

import dataclasses
import datetime
from collections.abc import Callable

from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_tenants.utils import tenant_context

from accounts.models import ClinicMembership, User
from appointments.models import Appointment
from appointments.services import appointment_create
from audit.models import AccessEntry
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.services import webhook_subscription_create
from patients.cpf import cpf_mask
from patients.models import Patient
from queueing.models import CheckIn, Desk, Panel, Service, Ticket
from queueing.services.checkins import checkin_create, checkin_process
from queueing.services.desk_breaks import desk_break_start
from queueing.services.panels import panel_create, panel_key_hash
from queueing.services.setup import desk_create, service_create
from queueing.services.tickets import ticket_issue
from queueing.services.workflow import ticket_call_next, ticket_finish, ticket_start
from queueing.services.workflow import ticket_cancel as workflow_cancel
from queueing.services.workflow import ticket_no_show as workflow_no_show
from tenants.models import Clinic

CPF = "52998224725"
NEW_CPF = "11144477735"
FULL_CPF_ROLES = {"receptionist", "clinic_admin"}
STAFF_ROLES = {"receptionist", "clinician", "clinic_admin"}
# Who sees a check-in's CPF (masked): reception, and the partner that sent it (docs/roles.md,
# "What each principal may learn about a CPF"); everyone else gets null.
CHECKIN_CPF_ROLES = {"receptionist", "clinic_admin", "partner_read_write"}


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who calls: a role of docs/roles.md's matrix and how that caller is known."""

    role: str
    access: str
    email: str | None = None
    client_id: str | None = None


@dataclasses.dataclass
class Call:
    url: str
    data: dict
    check: Callable


def _patient() -> Patient:
    return Patient.objects.create(
        cpf=CPF, full_name="Maria da Silva", birth_date=datetime.date(1990, 3, 14)
    )


def _service(name: str = "Matriz", prefix: str = "MZ") -> Service:
    """A service of the case's own, so nothing else in the clinic's queue gets in the way."""
    return service_create(name=name, prefix=prefix)


def _desk(service: Service, name: str = "Guichê Matriz") -> Desk:
    return desk_create(name=name, service_ids=[service.pk])


def _waiting(service: Service | None = None) -> Ticket:
    return ticket_issue(patient=_patient(), service=service or _service())


def _called() -> tuple[Ticket, Desk]:
    ticket = _waiting()
    desk = _desk(ticket.service)
    called = ticket_call_next(desk_id=desk.pk)
    assert called.pk == ticket.pk
    return called, desk


def _expect(response, status: int) -> dict | list:
    assert response.status_code == status, (response.status_code, response.content)
    return response.json()


def _shown_cpf(caller: Caller) -> str:
    return CPF if caller.role in FULL_CPF_ROLES else cpf_mask(CPF)


def _check_ticket(body: dict, ticket: Ticket, status: str) -> None:
    assert (body["id"], body["display_code"], body["status"]) == (
        ticket.pk,
        ticket.display_code,
        status,
    ), body


def checkin_create_call(clinic, caller: Caller) -> Call:
    def check(response):
        body = _expect(response, 202)
        checkin = CheckIn.objects.get(pk=body["id"])
        assert (checkin.cpf, checkin.status, body["status"]) == (NEW_CPF, "pending", "pending")
        assert body["status_url"].endswith(f"/api/v1/check-ins/{checkin.pk}/"), body

    data = {"cpf": NEW_CPF, "patient": {"full_name": "João Souza", "birth_date": "1985-07-01"}}
    return Call("/api/v1/check-ins/", data, check)


def checkin_status_call(clinic, caller: Caller) -> Call:
    """A partner reads a check-in it made (others' answer 404); staff and managers any."""
    _patient()
    checkin, _ = checkin_create(cpf=CPF, partner_client_id=caller.client_id or "")
    checkin = checkin_process(checkin_id=checkin.pk)

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["status"], body["cpf"]) == (
            str(checkin.pk),
            "queued",
            cpf_mask(CPF) if caller.role in CHECKIN_CPF_ROLES else None,
        ), body
        assert body["ticket"]["display_code"] == checkin.ticket.display_code, body

    return Call(f"/api/v1/check-ins/{checkin.pk}/", {}, check)


def patient_search_call(clinic, caller: Caller) -> Call:
    patient = _patient()

    def check(response):
        body = _expect(response, 200)
        if caller.role in FULL_CPF_ROLES:
            assert [(p["id"], p["cpf"], p["full_name"]) for p in body] == [
                (patient.pk, CPF, "Maria da Silva")
            ], body
        else:  # a check-in partner learns only that the CPF is a patient here, and the name
            assert body == [{"cpf_masked": cpf_mask(CPF), "display_name": "Maria da Silva"}], body

    return Call("/api/v1/patients/search/", {"cpf": CPF}, check)


def patient_search_in_url_call(clinic, caller: Caller) -> Call:
    _patient()

    def check(response):
        body = _expect(response, 400)
        assert [(e["code"], e["attr"]) for e in body["errors"]] == [("cpf_in_url", "cpf")], body

    return Call(f"/api/v1/patients/?cpf={CPF}", {}, check)


def patient_read_call(clinic, caller: Caller) -> Call:
    patient = _patient()

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["cpf"], body["cpf_masked"], body["full_name"]) == (
            patient.pk,
            _shown_cpf(caller),
            cpf_mask(CPF),
            "Maria da Silva",
        ), body

    return Call(f"/api/v1/patients/{patient.pk}/", {}, check)


def patient_correct_call(clinic, caller: Caller) -> Call:
    patient = _patient()

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["phone"], body["cpf"]) == (
            patient.pk,
            "+55 11 98888-7777",
            _shown_cpf(caller),
        ), body
        assert Patient.objects.get(pk=patient.pk).phone == "+55 11 98888-7777"

    return Call(f"/api/v1/patients/{patient.pk}/", {"phone": "+55 11 98888-7777"}, check)


def queue_call(clinic, caller: Caller) -> Call:
    ticket = _waiting()

    def check(response):
        body = _expect(response, 200)
        (queue,) = [q for q in body["services"] if q["service"]["id"] == ticket.service_id]
        assert [(t["display_code"], t["position"]) for t in queue["tickets"]] == [
            (ticket.display_code, 1)
        ], queue
        patient = queue["tickets"][0]["patient"]
        if caller.role in STAFF_ROLES:
            assert patient["display_name"] == "Maria da Silva", patient
        else:
            assert patient is None, patient

    return Call("/api/v1/queue/", {}, check)


def stats_call(clinic, caller: Caller) -> Call:
    ticket = _waiting()

    def check(response):
        body = _expect(response, 200)
        (figures,) = [f for f in body["services"] if f["service_id"] == ticket.service_id]
        assert (figures["prefix"], figures["tickets"], figures["waiting"], figures["served"]) == (
            "MZ",
            1,
            1,
            0,
        ), figures

    return Call("/api/v1/stats/today/", {}, check)


def ticket_read_call(clinic, caller: Caller) -> Call:
    ticket = _waiting()

    def check(response):
        body = _expect(response, 200)
        _check_ticket(body, ticket, "waiting")
        assert [event["kind"] for event in body["events"]] == ["issued"], body
        assert (body["patient"] is not None) == (caller.role in STAFF_ROLES), body

    return Call(f"/api/v1/tickets/{ticket.pk}/", {}, check)


def services_call(clinic, caller: Caller) -> Call:
    _service()

    def check(response):
        body = _expect(response, 200)
        listed = {(s["name"], s["prefix"]) for s in body}
        assert listed == set(Service.objects.values_list("name", "prefix")), body
        assert ("Matriz", "MZ") in listed

    return Call("/api/v1/services/", {}, check)


def service_read_call(clinic, caller: Caller) -> Call:
    service = _service()

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["name"], body["prefix"]) == (service.pk, "Matriz", "MZ"), body

    return Call(f"/api/v1/services/{service.pk}/", {}, check)


def desks_call(clinic, caller: Caller) -> Call:
    desk = _desk(_service())

    def check(response):
        body = _expect(response, 200)
        assert {d["name"] for d in body} == set(Desk.objects.values_list("name", flat=True))
        (listed,) = [d for d in body if d["id"] == desk.pk]
        assert (listed["name"], listed["services"]) == ("Guichê Matriz", [desk.services.get().pk])

    return Call("/api/v1/desks/", {}, check)


def desk_read_call(clinic, caller: Caller) -> Call:
    service = _service()
    desk = _desk(service)

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["name"], body["services"]) == (
            desk.pk,
            "Guichê Matriz",
            [service.pk],
        ), body

    return Call(f"/api/v1/desks/{desk.pk}/", {}, check)


def service_create_call(clinic, caller: Caller) -> Call:
    def check(response):
        body = _expect(response, 201)
        created = Service.objects.get(pk=body["id"])
        assert (body["name"], body["prefix"]) == (created.name, created.prefix) == ("Raio-X", "RX")

    return Call("/api/v1/services/", {"name": "Raio-X", "prefix": "rx"}, check)


def service_change_call(clinic, caller: Caller) -> Call:
    service = _service()

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["target_wait_minutes"]) == (service.pk, 40), body
        assert Service.objects.get(pk=service.pk).target_wait_minutes == 40

    return Call(f"/api/v1/services/{service.pk}/", {"target_wait_minutes": 40}, check)


def desk_create_call(clinic, caller: Caller) -> Call:
    service = _service()

    def check(response):
        body = _expect(response, 201)
        created = Desk.objects.get(pk=body["id"])
        assert (body["name"], body["services"]) == ("Guichê 9", [service.pk]), body
        assert list(created.services.values_list("pk", flat=True)) == [service.pk]

    return Call("/api/v1/desks/", {"name": "Guichê 9", "services": [service.pk]}, check)


def desk_change_call(clinic, caller: Caller) -> Call:
    desk = _desk(_service())

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["name"]) == (desk.pk, "Sala 2"), body
        assert Desk.objects.get(pk=desk.pk).name == "Sala 2"

    return Call(f"/api/v1/desks/{desk.pk}/", {"name": "Sala 2"}, check)


def call_next_call(clinic, caller: Caller) -> Call:
    ticket = _waiting()
    desk = _desk(ticket.service)

    def check(response):
        body = _expect(response, 200)
        _check_ticket(body["ticket"], ticket, "called")
        assert body["ticket"]["desk"] == {"id": desk.pk, "name": "Guichê Matriz"}, body

    return Call(f"/api/v1/desks/{desk.pk}/call-next/", {}, check)


def call_chosen_call(clinic, caller: Caller) -> Call:
    first = _waiting()
    chosen = ticket_issue(
        patient=Patient.objects.create(cpf=NEW_CPF, full_name="João Souza"), service=first.service
    )
    desk = _desk(chosen.service)

    def check(response):
        body = _expect(response, 200)
        _check_ticket(body, chosen, "called")
        assert body["desk"] == {"id": desk.pk, "name": "Guichê Matriz"}, body
        call = chosen.events.get(kind="called")
        assert call.detail == {"out_of_order": True, "reason": "Resultado de exame"}, call.detail

    data = {"ticket": chosen.pk, "reason": "Resultado de exame"}
    return Call(f"/api/v1/desks/{desk.pk}/call/", data, check)


def _caller_user(caller: Caller) -> User | None:
    return User.objects.get(email=caller.email) if caller.email else None


def no_show_undo_call(clinic, caller: Caller) -> Call:
    ticket, _desk_ = _called()
    workflow_no_show(ticket_id=ticket.pk, actor=_caller_user(caller))

    def check(response):
        body = _expect(response, 200)
        _check_ticket(body, ticket, "called")
        assert Ticket.objects.get(pk=ticket.pk).status == "called"

    return Call(f"/api/v1/tickets/{ticket.pk}/no-show/undo/", {}, check)


def cancel_undo_call(clinic, caller: Caller) -> Call:
    ticket = _waiting()
    workflow_cancel(ticket_id=ticket.pk, reason="Saiu", actor=_caller_user(caller))

    def check(response):
        body = _expect(response, 200)
        _check_ticket(body, ticket, "waiting")
        assert Ticket.objects.get(pk=ticket.pk).status == "waiting"

    return Call(f"/api/v1/tickets/{ticket.pk}/cancel/undo/", {}, check)


def _action_call(action: str, expected: str, *, before=_called, data=None) -> Callable:
    def case(clinic, caller: Caller) -> Call:
        ticket = before()
        ticket = ticket[0] if isinstance(ticket, tuple) else ticket

        def check(response):
            body = _expect(response, 200)
            _check_ticket(body, ticket, expected)
            assert Ticket.objects.get(pk=ticket.pk).status == expected
            if action == "recall":
                assert body["recall_count"] == 1, body
            if action == "cancel":
                assert body["cancel_reason"] == data["reason"], body

        return Call(f"/api/v1/tickets/{ticket.pk}/{action}/", data or {}, check)

    return case


def _in_service() -> Ticket:
    ticket, _desk = _called()
    return ticket_start(ticket_id=ticket.pk)


def transfer_call(clinic, caller: Caller) -> Call:
    ticket = _waiting()
    triage = _service("Triagem Matriz", "TM")

    def check(response):
        body = _expect(response, 201)
        opened = Ticket.objects.get(transferred_from=ticket)
        _check_ticket(body, opened, "waiting")
        assert body["service"]["id"] == triage.pk, body
        assert body["transferred_from"] == {"id": ticket.pk, "display_code": ticket.display_code}
        assert Ticket.objects.get(pk=ticket.pk).status == "transferred"

    return Call(f"/api/v1/tickets/{ticket.pk}/transfer/", {"service": triage.pk}, check)


def panel_call(clinic, caller: Caller) -> Call:
    ticket, desk = _called()

    def check(response):
        body = _expect(response, 200)
        (shown,) = [d for d in body["desks"] if d["desk_id"] == desk.pk]
        assert shown["ticket"]["display_code"] == ticket.display_code, shown
        assert body["recent_calls"][0]["display_code"] == ticket.display_code, body

    return Call("/api/v1/panel/", {}, check)


def panel_key_rotate_call(clinic, caller: Caller) -> Call:
    old_hash = Panel.objects.get(is_default=True).key_hash

    def check(response):
        body = _expect(response, 200)
        new_hash = Panel.objects.get(is_default=True).key_hash
        assert new_hash != old_hash and panel_key_hash(body["key"]) == new_hash, body
        assert body["panel_url"].endswith(f"/panel/#key={body['key']}"), body

    return Call("/api/v1/panel/key/rotate/", {}, check)


def totem_key_rotate_call(clinic, caller: Caller) -> Call:
    old_key = Clinic.objects.get(pk=clinic.pk).totem_key

    def check(response):
        body = _expect(response, 200)
        new_key = Clinic.objects.get(pk=clinic.pk).totem_key
        assert new_key != old_key and body["key"] == new_key, body
        assert body["totem_url"].endswith(f"/totem/#key={new_key}"), body

    return Call("/api/v1/totem/key/rotate/", {}, check)


def totem_settings_call(clinic, caller: Caller) -> Call:
    def check(response):
        assert _expect(response, 200) == {"new_patients": "register", "ticket_paper_mm": 80}

    return Call("/api/v1/totem/settings/", {}, check)


def totem_settings_change_call(clinic, caller: Caller) -> Call:
    def check(response):
        body = _expect(response, 200)
        assert body == {"new_patients": "reception", "ticket_paper_mm": 58}, body
        stored = Clinic.objects.get(pk=clinic.pk)
        assert (stored.totem_new_patients, stored.ticket_paper_mm) == ("reception", 58)
        Clinic.objects.filter(pk=clinic.pk).update(
            totem_new_patients="register", ticket_paper_mm=80
        )

    return Call(
        "/api/v1/totem/settings/", {"new_patients": "reception", "ticket_paper_mm": 58}, check
    )


def _panel(name: str = "Painel Matriz") -> Panel:
    service = _service()
    panel, _key = panel_create(name=name, desk_ids=[_desk(service).pk])
    return panel


def panels_list_call(clinic, caller: Caller) -> Call:
    panel = _panel()

    def check(response):
        body = _expect(response, 200)
        assert body[0]["is_default"] is True, body
        (listed,) = [p for p in body if p["id"] == panel.pk]
        assert listed["name"] == "Painel Matriz" and len(listed["desks"]) == 1, listed
        assert "key" not in listed and "key_hash" not in listed, listed

    return Call("/api/v1/panels/", {}, check)


def panels_create_call(clinic, caller: Caller) -> Call:
    desk = _desk(_service())

    def check(response):
        body = _expect(response, 201)
        panel = Panel.objects.get(pk=body["id"])
        assert (body["name"], body["desks"], body["voice_enabled"]) == ("Térreo", [desk.pk], True)
        assert panel.key_hash == panel_key_hash(body["key"]), body

    data = {"name": "Térreo", "desks": [desk.pk], "voice_enabled": True, "voice_rate": "1.25"}
    return Call("/api/v1/panels/", data, check)


def panel_read_call(clinic, caller: Caller) -> Call:
    panel = _panel()

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["name"], body["is_default"]) == (panel.pk, panel.name, False)

    return Call(f"/api/v1/panels/{panel.pk}/", {}, check)


def panel_change_call(clinic, caller: Caller) -> Call:
    panel = _panel()
    service = _service("Consulta Matriz", "CM")

    def check(response):
        body = _expect(response, 200)
        assert (body["name"], body["services"]) == ("Primeiro andar", [service.pk]), body
        assert list(Panel.objects.get(pk=panel.pk).services.all()) == [service]

    return Call(
        f"/api/v1/panels/{panel.pk}/", {"name": "Primeiro andar", "services": [service.pk]}, check
    )


def panel_delete_call(clinic, caller: Caller) -> Call:
    panel = _panel()

    def check(response):
        assert response.status_code == 204, response.content
        assert not Panel.objects.filter(pk=panel.pk).exists()

    return Call(f"/api/v1/panels/{panel.pk}/", {}, check)


def panel_rotate_call(clinic, caller: Caller) -> Call:
    panel = _panel()
    old_hash = panel.key_hash

    def check(response):
        body = _expect(response, 200)
        new_hash = Panel.objects.get(pk=panel.pk).key_hash
        assert new_hash != old_hash and panel_key_hash(body["key"]) == new_hash, body

    return Call(f"/api/v1/panels/{panel.pk}/key/rotate/", {}, check)


def clinic_settings_call(clinic, caller: Caller) -> Call:
    def check(response):
        body = _expect(response, 200)
        assert (body["slug"], body["name"]) == (clinic.schema_name, clinic.name), body
        assert body["timezone"] == clinic.timezone, body

    return Call("/api/v1/clinic/", {}, check)


def clinic_settings_change_call(clinic, caller: Caller) -> Call:
    def check(response):
        body = _expect(response, 200)
        assert body["reset_time"] == "03:30", body
        assert Clinic.objects.get(pk=clinic.pk).reset_time == datetime.time(3, 30)
        reset = PeriodicTask.objects.get(name=f"daily-reset:{clinic.schema_name}")
        assert (reset.crontab.hour, reset.crontab.minute) == ("3", "30")

    return Call("/api/v1/clinic/", {"reset_time": "03:30"}, check)


def staff_invitation_call(clinic, caller: Caller) -> Call:
    member = _member(clinic, "clinician")

    def check(response):
        body = _expect(response, 202)
        assert (body["id"], body["email"]) == (member.pk, member.user.email), body

    return Call(f"/api/v1/staff/{member.pk}/invitation/", {}, check)


def password_change_call(clinic, caller: Caller) -> Call:
    def check(response):
        assert response.status_code == 204, response.content
        assert User.objects.get(email=caller.email).check_password("n0va-Senha-Segura-77")

    data = {"current_password": "s3nha-Forte-2026", "new_password": "n0va-Senha-Segura-77"}
    return Call("/api/v1/auth/password/change/", data, check)


def patient_export_call(clinic, caller: Caller) -> Call:
    patient = _patient()

    def check(response):
        body = _expect(response, 200)
        assert (body["record"]["id"], body["record"]["cpf"]) == (patient.pk, CPF), body
        assert [e["action"] for e in body["access_trail"]] == [], body  # the export is logged after
        assert AccessEntry.objects.filter(patient_id=patient.pk, action="export").count() == 1

    return Call(f"/api/v1/patients/{patient.pk}/export/", {}, check)


def patient_anonymise_call(clinic, caller: Caller) -> Call:
    patient = _patient()

    def check(response):
        body = _expect(response, 200)
        assert body["id"] == patient.pk and body["anonymised_at"], body
        assert Patient.objects.get(pk=patient.pk).cpf is None

    return Call(f"/api/v1/patients/{patient.pk}/anonymise/", {"reason": "Pedido da titular"}, check)


def patient_review_call(clinic, caller: Caller) -> Call:
    patient = _patient()
    long_ago = timezone.now() - datetime.timedelta(days=365 * 10)
    Patient.objects.filter(pk=patient.pk).update(created_at=long_ago)

    def check(response):
        body = _expect(response, 200)
        assert [(p["id"], p["cpf_masked"]) for p in body] == [(patient.pk, cpf_mask(CPF))], body

    return Call("/api/v1/patients/review/", {}, check)


def _trail_entry() -> AccessEntry:
    patient = _patient()
    return AccessEntry.objects.create(
        user_email="recepcao@matriz.test",
        role="receptionist",
        patient_id=patient.pk,
        action="view",
        fields=["full_name"],
        address="192.0.2.7",
    )


def access_trail_call(clinic, caller: Caller) -> Call:
    entry = _trail_entry()

    def check(response):
        body = _expect(response, 200)
        assert [(e["id"], e["patient_id"], e["user_email"]) for e in body] == [
            (entry.pk, entry.patient_id, "recepcao@matriz.test")
        ], body

    return Call("/api/v1/access-trail/", {}, check)


def access_trail_csv_call(clinic, caller: Caller) -> Call:
    entry = _trail_entry()

    def check(response):
        assert response.status_code == 200, response.status_code
        assert response["Content-Type"].startswith("text/csv")
        lines = b"".join(response.streaming_content).decode().splitlines()
        assert len(lines) == 2 and "recepcao@matriz.test" in lines[1], lines
        assert str(entry.patient_id) in lines[1], lines

    return Call("/api/v1/access-trail/csv/", {}, check)


def _email(clinic, name: str) -> str:
    return f"{name}@{clinic.schema_name.replace('_', '-')}.test"


def _member(clinic, role: str) -> ClinicMembership:
    user = User.objects.create_user(_email(clinic, f"matriz-{role}"), "pw-123456789")
    return ClinicMembership.objects.create(user=user, clinic=clinic, role=role)


def staff_list_call(clinic, caller: Caller) -> Call:
    member = _member(clinic, "clinician")

    def check(response):
        body = _expect(response, 200)
        listed = {(m["email"], m["role"]) for m in body}
        assert listed == {
            (m.user.email, m.role) for m in ClinicMembership.objects.filter(clinic=clinic)
        }
        assert {(member.user.email, "clinician"), (caller.email, caller.role)} <= listed

    return Call("/api/v1/staff/", {}, check)


def staff_invite_call(clinic, caller: Caller) -> Call:
    email = _email(clinic, "convite")

    def check(response):
        body = _expect(response, 201)
        assert (body["email"], body["role"], body["is_active"]) == (email, "clinician", True)
        assert ClinicMembership.objects.get(pk=body["id"], clinic=clinic).user.email == email

    return Call("/api/v1/staff/", {"email": email, "role": "clinician"}, check)


def staff_role_call(clinic, caller: Caller) -> Call:
    member = _member(clinic, "clinician")

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["role"]) == (member.pk, "receptionist"), body
        assert ClinicMembership.objects.get(pk=member.pk).role == "receptionist"

    return Call(f"/api/v1/staff/{member.pk}/", {"role": "receptionist"}, check)


def staff_deactivate_call(clinic, caller: Caller) -> Call:
    member = _member(clinic, "clinician")

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["is_active"]) == (member.pk, False), body
        assert ClinicMembership.objects.get(pk=member.pk).is_active is False

    return Call(f"/api/v1/staff/{member.pk}/deactivate/", {}, check)


def me_call(clinic, caller: Caller) -> Call:
    def check(response):
        body = _expect(response, 200)
        assert body["clinic"]["slug"] == clinic.schema_name, body
        if caller.client_id is not None:
            assert (body["principal"], body["client_id"]) == ("partner", caller.client_id), body
        else:
            role = caller.role if caller.role in STAFF_ROLES else None
            assert (body["principal"], body["email"], body["role"]) == ("user", caller.email, role)

    return Call("/api/v1/me/", {}, check)


def desk_break_start_call(clinic, caller: Caller) -> Call:
    desk = _desk(_service())

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["break_reason"]) == (desk.pk, "meeting"), body
        assert Desk.objects.get(pk=desk.pk).break_reason == "meeting"

    return Call(f"/api/v1/desks/{desk.pk}/break/", {"reason": "meeting"}, check)


def desk_break_end_call(clinic, caller: Caller) -> Call:
    desk = _desk(_service())
    desk_break_start(desk_id=desk.pk, reason="lunch")

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["break_reason"], body["break_started_at"]) == (desk.pk, "", None)
        assert Desk.objects.get(pk=desk.pk).on_break is False

    return Call(f"/api/v1/desks/{desk.pk}/break/end/", {}, check)


def _a_served_ticket() -> Ticket:
    ticket, _desk_ = _called()
    ticket_start(ticket_id=ticket.pk)
    return ticket_finish(ticket_id=ticket.pk)


def figures_call(clinic, caller: Caller) -> Call:
    served = _a_served_ticket()

    def check(response):
        body = _expect(response, 200)
        assert body["date_from"] == body["date_to"] == served.service_day.isoformat(), body
        assert (body["totals"]["calls"], body["totals"]["served"]) == (1, 1), body
        (matriz,) = [s for s in body["services"] if s["prefix"] == "MZ"]
        assert (matriz["arrivals"], matriz["served"]) == (1, 1), matriz

    return Call("/api/v1/figures/", {}, check)


def figures_csv_call(clinic, caller: Caller) -> Call:
    _a_served_ticket()

    def check(response):
        assert response.status_code == 200, response.status_code
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        text = response.content.decode("utf-8-sig")
        lines = text.splitlines()
        totals = lines.index("Totais")  # the CSV speaks the request's language, pt-BR here
        header, values = lines[totals + 1].split(";"), lines[totals + 2].split(";")
        row = dict(zip(header, values, strict=True))
        assert (row["Chamadas"], row["Atendidos"]) == ("1", "1"), row

    return Call("/api/v1/figures/csv/", {}, check)


def _subscription(caller: Caller, *, client_id: str | None = None) -> WebhookSubscription:
    """A subscription of the caller (a partner's own, or the clinic's for staff)."""
    subscription, _secret = webhook_subscription_create(
        url="https://hooks.example.com/clinico",
        kinds=["ticket.called"],
        partner_client_id=client_id if client_id is not None else (caller.client_id or ""),
    )
    return subscription


def webhooks_list_call(clinic, caller: Caller) -> Call:
    own = _subscription(caller)
    other = _subscription(caller, client_id="pc_someone_else")

    def check(response):
        body = _expect(response, 200)
        ids = {s["id"] for s in body}
        if caller.client_id:  # a partner sees its own subscriptions only
            assert own.pk in ids and other.pk not in ids, body
        else:  # the clinic admin sees every subscription of the clinic
            assert {own.pk, other.pk} <= ids, body
        assert all("secret" not in s for s in body), body

    return Call("/api/v1/webhooks/", {}, check)


def webhook_create_call(clinic, caller: Caller) -> Call:
    def check(response):
        body = _expect(response, 201)
        stored = WebhookSubscription.objects.get(pk=body["id"])
        assert body["secret"] == stored.secret and body["secret"].startswith("whsec_"), body
        assert (body["owner"], body["partner_client_id"]) == (
            ("partner", caller.client_id) if caller.client_id else ("clinic", None)
        ), body
        assert stored.kinds == ["ticket.called", "appointment.*"]

    data = {"url": "https://hooks.example.com/new", "kinds": ["appointment.*", "ticket.called"]}
    return Call("/api/v1/webhooks/", data, check)


def webhook_read_call(clinic, caller: Caller) -> Call:
    subscription = _subscription(caller)

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["url"], body["is_active"]) == (
            subscription.pk,
            "https://hooks.example.com/clinico",
            True,
        ), body
        assert "secret" not in body, body

    return Call(f"/api/v1/webhooks/{subscription.pk}/", {}, check)


def webhook_change_call(clinic, caller: Caller) -> Call:
    subscription = _subscription(caller)

    def check(response):
        body = _expect(response, 200)
        assert body["kinds"] == ["day.closed"], body
        assert WebhookSubscription.objects.get(pk=subscription.pk).kinds == ["day.closed"]

    return Call(f"/api/v1/webhooks/{subscription.pk}/", {"kinds": ["day.closed"]}, check)


def webhook_delete_call(clinic, caller: Caller) -> Call:
    subscription = _subscription(caller)

    def check(response):
        assert response.status_code == 204, response.content
        assert not WebhookSubscription.objects.filter(pk=subscription.pk).exists()

    return Call(f"/api/v1/webhooks/{subscription.pk}/", {}, check)


def webhook_rotate_call(clinic, caller: Caller) -> Call:
    subscription = _subscription(caller)
    old = subscription.secret

    def check(response):
        body = _expect(response, 200)
        stored = WebhookSubscription.objects.get(pk=subscription.pk)
        assert body["secret"] == stored.secret != old, body
        assert stored.previous_secret == old
        assert body["previous_secret_until"] is not None, body

    url = f"/api/v1/webhooks/{subscription.pk}/rotate-secret/"
    return Call(url, {"overlap_hours": 1}, check)


def _delivered(subscription: WebhookSubscription) -> WebhookDelivery:
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_id=1,
        kind="ticket.called",
        ticket_id=1,
        event_at=now,
        payload={"id": f"{subscription.pk}.1", "type": "ticket.called"},
        status="delivered",
        attempts=1,
        next_attempt_at=now,
        window_started_at=now,
        delivered_at=now,
    )
    delivery.log.create(at=now, status_code=200, duration_ms=12)
    return delivery


def webhook_deliveries_call(clinic, caller: Caller) -> Call:
    subscription = _subscription(caller)
    delivery = _delivered(subscription)

    def check(response):
        body = _expect(response, 200)
        assert [(d["id"], d["status"], d["event_id"]) for d in body] == [
            (delivery.pk, "delivered", delivery.payload["id"])
        ], body
        assert [a["status_code"] for a in body[0]["log"]] == [200], body

    return Call(f"/api/v1/webhooks/{subscription.pk}/deliveries/", {}, check)


def webhook_redeliver_call(clinic, caller: Caller) -> Call:
    subscription = _subscription(caller)
    delivery = _delivered(subscription)

    def check(response):
        body = _expect(response, 202)
        assert (body["id"], body["status"]) == (delivery.pk, "pending"), body
        assert WebhookDelivery.objects.get(pk=delivery.pk).status == "pending"

    url = f"/api/v1/webhooks/{subscription.pk}/deliveries/{delivery.pk}/redeliver/"
    return Call(url, {}, check)


def _booking(caller: Caller | None = None) -> Appointment:
    """An appointment of the default service tomorrow at noon, booked by `caller` if a partner."""
    tomorrow_noon = timezone.localtime(timezone.now()).replace(
        hour=12, minute=0, second=0, microsecond=0
    ) + datetime.timedelta(days=1)
    appointment, _ = appointment_create(
        cpf=CPF,
        registration={"full_name": "Maria da Silva", "birth_date": "1980-04-02"},
        service_id=Service.objects.get(is_default=True).pk,
        scheduled_at=tomorrow_noon,
        partner_client_id=(caller.client_id or "") if caller is not None else "",
    )
    return appointment


def _check_booking_patient(body: dict, caller: Caller) -> None:
    if caller.role in FULL_CPF_ROLES:
        assert body["patient"]["cpf"] == cpf_mask(CPF), body
    elif caller.role in STAFF_ROLES:  # clinicians: the name, never a CPF
        assert (body["patient"]["display_name"], body["patient"]["cpf"]) == ("Maria da Silva", None)
    else:
        assert body["patient"] is None and body["note"] is None, body


def appointments_call(clinic, caller: Caller) -> Call:
    appointment = _booking(caller)

    def check(response):
        body = _expect(response, 200)
        [row] = [row for row in body if row["id"] == appointment.pk]
        assert row["status"] == "expected", row
        _check_booking_patient(row, caller)

    return Call(f"/api/v1/appointments/?day={appointment.service_day.isoformat()}", {}, check)


def appointment_create_call(clinic, caller: Caller) -> Call:
    scheduled = (timezone.now() + datetime.timedelta(days=1)).replace(microsecond=0)

    def check(response):
        body = _expect(response, 201)
        stored = Appointment.objects.select_related("patient").get(pk=body["id"])
        assert (stored.patient.cpf, stored.status, stored.scheduled_at) == (
            NEW_CPF,
            "expected",
            scheduled,
        )
        assert stored.partner_client_id == (caller.client_id or "")
        assert body["status"] == "expected", body

    data = {
        "cpf": NEW_CPF,
        "patient": {"full_name": "João Souza", "birth_date": "1985-07-01"},
        "service": Service.objects.get(is_default=True).pk,
        "scheduled_at": scheduled.isoformat(),
    }
    return Call("/api/v1/appointments/", data, check)


def appointment_read_call(clinic, caller: Caller) -> Call:
    appointment = _booking(caller)

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["status"]) == (appointment.pk, "expected"), body
        _check_booking_patient(body, caller)

    return Call(f"/api/v1/appointments/{appointment.pk}/", {}, check)


def appointment_cancel_call(clinic, caller: Caller) -> Call:
    appointment = _booking(caller)

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["status"]) == (appointment.pk, "cancelled"), body
        assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"

    return Call(f"/api/v1/appointments/{appointment.pk}/cancel/", {"reason": "Remarcou"}, check)


UUID = "00000000-0000-0000-0000-000000000001"
CASES = {
    ("POST", "/api/v1/check-ins/"): checkin_create_call,
    ("GET", f"/api/v1/check-ins/{UUID}/"): checkin_status_call,
    ("POST", "/api/v1/patients/search/"): patient_search_call,
    ("GET", "/api/v1/patients/"): patient_search_in_url_call,
    ("GET", "/api/v1/patients/1/"): patient_read_call,
    ("PATCH", "/api/v1/patients/1/"): patient_correct_call,
    ("GET", "/api/v1/queue/"): queue_call,
    ("GET", "/api/v1/stats/today/"): stats_call,
    ("GET", "/api/v1/tickets/1/"): ticket_read_call,
    ("GET", "/api/v1/services/"): services_call,
    ("GET", "/api/v1/services/1/"): service_read_call,
    ("GET", "/api/v1/desks/"): desks_call,
    ("GET", "/api/v1/desks/1/"): desk_read_call,
    ("POST", "/api/v1/services/"): service_create_call,
    ("PATCH", "/api/v1/services/1/"): service_change_call,
    ("POST", "/api/v1/desks/"): desk_create_call,
    ("PATCH", "/api/v1/desks/1/"): desk_change_call,
    ("POST", "/api/v1/desks/1/call-next/"): call_next_call,
    ("POST", "/api/v1/desks/1/call/"): call_chosen_call,
    ("POST", "/api/v1/tickets/1/no-show/undo/"): no_show_undo_call,
    ("POST", "/api/v1/tickets/1/cancel/undo/"): cancel_undo_call,
    ("POST", "/api/v1/tickets/1/recall/"): _action_call("recall", "called"),
    ("POST", "/api/v1/tickets/1/start/"): _action_call("start", "in_service"),
    ("POST", "/api/v1/tickets/1/finish/"): _action_call("finish", "done", before=_in_service),
    ("POST", "/api/v1/tickets/1/no-show/"): _action_call("no-show", "no_show"),
    ("POST", "/api/v1/tickets/1/requeue/"): _action_call("requeue", "waiting"),
    ("POST", "/api/v1/tickets/1/transfer/"): transfer_call,
    ("POST", "/api/v1/tickets/1/cancel/"): _action_call(
        "cancel", "cancelled", before=_waiting, data={"reason": "Paciente desistiu"}
    ),
    ("GET", "/api/v1/panel/"): panel_call,
    ("POST", "/api/v1/panel/key/rotate/"): panel_key_rotate_call,
    ("POST", "/api/v1/totem/key/rotate/"): totem_key_rotate_call,
    ("GET", "/api/v1/totem/settings/"): totem_settings_call,
    ("PATCH", "/api/v1/totem/settings/"): totem_settings_change_call,
    ("GET", "/api/v1/staff/"): staff_list_call,
    ("POST", "/api/v1/staff/"): staff_invite_call,
    ("PATCH", "/api/v1/staff/1/"): staff_role_call,
    ("POST", "/api/v1/staff/1/deactivate/"): staff_deactivate_call,
    ("POST", "/api/v1/staff/1/invitation/"): staff_invitation_call,
    ("GET", "/api/v1/panels/"): panels_list_call,
    ("POST", "/api/v1/panels/"): panels_create_call,
    ("GET", "/api/v1/panels/1/"): panel_read_call,
    ("PATCH", "/api/v1/panels/1/"): panel_change_call,
    ("DELETE", "/api/v1/panels/1/"): panel_delete_call,
    ("POST", "/api/v1/panels/1/key/rotate/"): panel_rotate_call,
    ("GET", "/api/v1/clinic/"): clinic_settings_call,
    ("PATCH", "/api/v1/clinic/"): clinic_settings_change_call,
    ("POST", "/api/v1/auth/password/change/"): password_change_call,
    ("GET", "/api/v1/me/"): me_call,
    ("GET", "/api/v1/patients/1/export/"): patient_export_call,
    ("POST", "/api/v1/patients/1/anonymise/"): patient_anonymise_call,
    ("GET", "/api/v1/patients/review/"): patient_review_call,
    ("GET", "/api/v1/access-trail/"): access_trail_call,
    ("GET", "/api/v1/access-trail/csv/"): access_trail_csv_call,
    ("POST", "/api/v1/desks/1/break/"): desk_break_start_call,
    ("POST", "/api/v1/desks/1/break/end/"): desk_break_end_call,
    ("GET", "/api/v1/figures/"): figures_call,
    ("GET", "/api/v1/figures/csv/"): figures_csv_call,
    ("GET", "/api/v1/webhooks/"): webhooks_list_call,
    ("POST", "/api/v1/webhooks/"): webhook_create_call,
    ("GET", "/api/v1/webhooks/1/"): webhook_read_call,
    ("PATCH", "/api/v1/webhooks/1/"): webhook_change_call,
    ("DELETE", "/api/v1/webhooks/1/"): webhook_delete_call,
    ("POST", "/api/v1/webhooks/1/rotate-secret/"): webhook_rotate_call,
    ("GET", "/api/v1/webhooks/1/deliveries/"): webhook_deliveries_call,
    ("POST", "/api/v1/webhooks/1/deliveries/1/redeliver/"): webhook_redeliver_call,
    ("GET", "/api/v1/appointments/"): appointments_call,
    ("POST", "/api/v1/appointments/"): appointment_create_call,
    ("GET", "/api/v1/appointments/1/"): appointment_read_call,
    ("POST", "/api/v1/appointments/1/cancel/"): appointment_cancel_call,
}


def call_for(method: str, url: str, *, clinic, caller: Caller) -> Call:
    """The case of `method url` (a matrix row's URL) set up at `clinic` for `caller`.

    Its check runs in the clinic's schema too, so it can look at what the call changed.
    """
    case = CASES.get((method, url.split("?")[0]))
    assert case is not None, f"add a case for {method} {url} to tests/accounts/answers.py"
    with tenant_context(clinic):
        call = case(clinic, caller)

    def check(response) -> None:
        with tenant_context(clinic):
            call.check(response)

    return Call(call.url, call.data, check)
