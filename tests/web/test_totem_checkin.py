"""The totem checks patients in with its key, as the API does, and prints their ticket.

In-process: the check-in is processed by calling the task's service (the worker path is in
tests/web/test_totem_page.py and tests/integration).
"""

import re

import pytest
from django.test import Client

from audit.models import AccessEntry
from patients.models import Patient
from queueing.models import CheckIn, Ticket
from queueing.services.checkins import checkin_process
from tenants.models import Clinic
from tenants.selectors import clinic_hostname
from tests.checkin_factories import staff_client
from tests.queueing import factories

pytestmark = pytest.mark.django_db

CPF = "52998224725"
NEW = {"full_name": "Benedita Ramos", "birth_date": "1991-04-02"}


def totem_client(clinic) -> Client:
    """The totem, signed in with the clinic's totem key posted from the `#key=` link."""
    totem = Client(HTTP_HOST=clinic_hostname(clinic=clinic))
    key = Clinic.objects.get(pk=clinic.pk).totem_key
    answer = totem.post("/totem/", {"key": key})
    assert answer.status_code == 303 and answer["Location"] == "/totem/"
    return totem


def check_in(totem: Client, body: dict, key: str = "k-1"):
    return totem.post(
        "/totem/check-ins/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_a_new_cpf_is_asked_for_a_short_registration_then_gets_a_ticket(clinic_a):
    totem = totem_client(clinic_a)

    first = check_in(totem, {"cpf": "529.982.247-25", "priority_reason": "pregnant"})

    assert first.status_code == 400
    assert {e["attr"] for e in first.json()["errors"]} == {
        "patient.full_name",
        "patient.birth_date",
    }
    answer = check_in(totem, {"cpf": CPF, "priority_reason": "pregnant", "patient": NEW})
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "pending"
    assert body["status_url"] == f"/totem/check-ins/{body['id']}/"
    # A double touch (the same Idempotency-Key) is the same check-in
    again = check_in(totem, {"cpf": CPF, "priority_reason": "pregnant", "patient": NEW})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    with clinic_a:
        assert CheckIn.objects.count() == 1
        checkin_process(checkin_id=body["id"])
        patient = Patient.objects.get(cpf=CPF)
        assert patient.full_name == "Benedita Ramos"
        ticket = Ticket.objects.get(patient=patient)
        assert (ticket.priority_reason, ticket.priority_tier) == ("pregnant", 1)
        # The access trail says the totem registered her
        entry = AccessEntry.objects.get(patient_id=patient.pk, action="checkin")
        assert (entry.role, entry.user_id) == ("totem", None)
        assert entry.address == "127.0.0.1"  # the totem's address, like every entry's

    status = totem.get(body["status_url"])

    assert status.status_code == 200
    shown = status.json()
    assert shown["status"] == "queued"
    assert shown["ticket"]["display_code"] == ticket.display_code
    assert shown["ticket"]["position"] == 1
    assert shown["ticket"]["print_url"] == f"/totem/tickets/{body['id']}/"
    # No patient data reaches the totem: no name, no CPF
    assert "Benedita" not in status.content.decode() and CPF[:3] not in str(shown["ticket"])


def test_the_printed_ticket_has_the_code_a_qr_code_and_the_status_link(clinic_a):
    totem = totem_client(clinic_a)
    body = check_in(totem, {"cpf": CPF, "patient": NEW}).json()
    with clinic_a:
        checkin = checkin_process(checkin_id=body["id"])
        code = checkin.ticket.display_code

    page = totem.get(f"/totem/tickets/{body['id']}/")

    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    html = page.content.decode()
    assert f'data-testid="ticket-code">{code}<' in html
    assert clinic_a.name in html
    assert "<svg" in html and 'class="segno"' in html
    link = re.search(r'data-testid="status-link">([^<]+)<', html).group(1)
    assert link.startswith(f"http://{clinic_hostname(clinic=clinic_a)}/s/#")
    assert "@page { size: 80mm" in html
    assert "Benedita" not in html and CPF not in html


def test_with_reception_configured_a_new_cpf_is_sent_to_reception(clinic_a, jwt_client):
    admin = jwt_client(clinic_a, "clinic_admin")
    changed = admin.patch("/api/v1/totem/settings/", {"new_patients": "reception"}, format="json")
    assert changed.status_code == 200
    assert changed.json() == {"new_patients": "reception", "ticket_paper_mm": 80}
    totem = totem_client(clinic_a)

    # Even a totem that sends a registration does not register anyone
    answer = check_in(totem, {"cpf": CPF, "patient": NEW})

    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert (error["attr"], error["code"]) == ("cpf", "register_at_reception")
    with clinic_a:
        assert CheckIn.objects.count() == 0 and not Patient.objects.filter(cpf=CPF).exists()


def test_with_reception_configured_a_known_cpf_still_checks_in(clinic_a, jwt_client):
    jwt_client(clinic_a, "clinic_admin").patch(
        "/api/v1/totem/settings/", {"new_patients": "reception"}, format="json"
    )
    with clinic_a:
        Patient.objects.create(cpf=CPF, full_name="Ana Souza")

    answer = check_in(totem_client(clinic_a), {"cpf": CPF})

    assert answer.status_code == 202


def test_the_totem_key_reads_no_queue_no_patient_and_no_staff_check_in(clinic_a):
    totem = totem_client(clinic_a)
    with clinic_a:
        factories.waiting(factories.reception())
    staff_checkin = staff_client(clinic_a).post(
        "/api/v1/check-ins/", {"cpf": CPF, "patient": NEW}, format="json"
    )

    for url in ("/api/v1/queue/", "/api/v1/panel/", "/api/v1/patients/1/", "/api/v1/tickets/1/"):
        assert totem.get(url).status_code in (401, 403), url
    assert totem.post("/api/v1/patients/search/", {"cpf": CPF}).status_code in (401, 403)
    assert totem.post("/api/v1/check-ins/", {"cpf": CPF}).status_code in (401, 403)
    assert totem.get(f"/totem/check-ins/{staff_checkin.json()['id']}/").status_code == 404
    assert totem.get("/").status_code == 302  # the console asks for a staff sign-in


def test_staff_and_strangers_cannot_use_the_totem_endpoints(clinic_a):
    stranger = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    staff = staff_client(clinic_a, "clinic_admin")

    for client in (stranger, staff):
        answer = client.post("/totem/check-ins/", {"cpf": CPF}, format="json")
        assert answer.status_code == 403
        assert answer.json()["errors"][0]["code"] == "totem_key_missing"
    # A stranger's visit is the totem's sign-in page (as a new totem's first open): no check-in.
    signin = stranger.get("/totem/")
    assert signin.status_code == 200
    assert 'name="key"' in signin.content.decode()
    assert stranger.post("/totem/", {"key": "guessed"}).status_code == 403


def test_a_key_in_the_query_string_is_refused(clinic_a):
    stranger = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))

    answer = stranger.get(f"/totem/?key={clinic_a.totem_key}")

    assert answer.status_code == 400


def test_rotating_the_totem_key_signs_the_old_totem_out(clinic_a, jwt_client):
    totem = totem_client(clinic_a)
    old_key = Clinic.objects.get(pk=clinic_a.pk).totem_key

    answer = jwt_client(clinic_a, "clinic_admin").post("/api/v1/totem/key/rotate/")

    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    new_key = answer.json()["key"]
    assert new_key != old_key
    host = clinic_hostname(clinic=clinic_a)
    assert answer.json()["totem_url"] == f"http://{host}/totem/#key={new_key}"
    refused = check_in(totem, {"cpf": CPF})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "totem_key_changed"
    assert totem.get("/totem/").status_code == 403
    assert check_in(totem_client(clinic_a), {"cpf": CPF, "patient": NEW}).status_code == 202


@pytest.mark.parametrize("role", ["receptionist", "clinician"])
def test_only_a_clinic_admin_rotates_the_totem_key_or_changes_its_settings(
    clinic_a, jwt_client, role
):
    client = jwt_client(clinic_a, role)

    assert client.post("/api/v1/totem/key/rotate/").status_code == 403
    assert client.patch("/api/v1/totem/settings/", {"new_patients": "reception"}).status_code == 403
    assert Clinic.objects.get(pk=clinic_a.pk).totem_new_patients == "register"


def test_each_clinic_has_its_own_totem_key(clinic_a, clinic_b):
    totem = Client(HTTP_HOST=clinic_hostname(clinic=clinic_b))

    assert clinic_a.totem_key != clinic_b.totem_key
    assert totem.post("/totem/", {"key": clinic_a.totem_key}).status_code == 403


def test_staff_reprint_a_ticket_from_the_console(clinic_a):
    with clinic_a:
        ticket = factories.waiting(factories.reception())
    reception = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    reception.force_login(factories.staff(clinic_a, "receptionist"))
    stranger = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))

    page = reception.get(f"/tickets/{ticket.pk}/print/")

    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-testid="ticket-code">{ticket.display_code}<' in html and "<svg" in html
    assert "Reimpressa às" in html
    assert stranger.get(f"/tickets/{ticket.pk}/print/").status_code == 302


def test_on_58_mm_paper_the_ticket_asks_for_a_58_mm_page(clinic_a, jwt_client):
    jwt_client(clinic_a, "clinic_admin").patch(
        "/api/v1/totem/settings/", {"ticket_paper_mm": 58}, format="json"
    )
    totem = totem_client(clinic_a)
    body = check_in(totem, {"cpf": CPF, "patient": NEW}).json()
    with clinic_a:
        checkin_process(checkin_id=body["id"])

    html = totem.get(f"/totem/tickets/{body['id']}/").content.decode()

    assert "@page { size: 58mm 120mm" in html and "paper-58" in html


def test_the_totem_page_offers_the_services_and_the_declarable_reasons_only(clinic_a):
    with clinic_a:
        factories.service("Exames", "E")

    html = totem_client(clinic_a).get("/totem/").content.decode()

    assert 'data-service="' in html and "Exames" in html
    assert 'data-reason="pregnant"' in html and 'data-reason="blood_donor"' in html
    assert 'data-reason="age_60"' not in html and 'data-reason="age_80"' not in html


def test_the_clinics_totems_check_in_at_most_the_configured_rate(clinic_a, settings, minute_start):
    settings.CLINICO_TOTEM_CHECKINS_PER_MINUTE = 3
    totem = totem_client(clinic_a)
    answers = [check_in(totem, {"cpf": CPF}, key=f"k-{n}") for n in range(4)]

    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert int(answers[-1]["Retry-After"]) >= 1
    assert answers[-1].json()["errors"][0]["code"] == "throttled"
