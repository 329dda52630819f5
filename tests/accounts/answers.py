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
from audit.models import AccessEntry
from patients.cpf import cpf_mask
from patients.models import Patient
from queueing.models import CheckIn, Desk, Panel, Service, Ticket
from queueing.services.checkins import checkin_create, checkin_process
from queueing.services.panels import panel_create, panel_key_hash
from queueing.services.setup import desk_create, service_create
from queueing.services.tickets import ticket_issue
from queueing.services.workflow import ticket_call_next, ticket_start
from tenants.models import Clinic

CPF = "52998224725"
NEW_CPF = "11144477735"
FULL_CPF_ROLES = {"receptionist", "clinic_admin"}
STAFF_ROLES = {"receptionist", "clinician", "clinic_admin"}


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
    _patient()
    checkin, _ = checkin_create(cpf=CPF)
    checkin = checkin_process(checkin_id=checkin.pk)

    def check(response):
        body = _expect(response, 200)
        assert (body["id"], body["status"], body["cpf"]) == (
            str(checkin.pk),
            "queued",
            cpf_mask(CPF),
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
