"""Transfer: the ticket closes; a new one opens in the target service, keeping its arrival."""

import datetime

import pytest
from django.utils import timezone

from queueing.models import Ticket, TicketEvent
from queueing.services import workflow
from tests.conftest import client_for
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


def test_transfer_opens_a_ticket_in_the_target_service_with_the_original_arrival(clinic_a):
    arrived = timezone.now() - datetime.timedelta(minutes=40)
    user = f.staff(clinic_a, "clinician")
    with clinic_a:
        reception, triage = f.reception(), f.service("Triagem", "T")
        desk = f.desk("Guichê 1", reception)
        ticket = f.waiting(reception, reason="pregnant", arrived_at=arrived)
        workflow.ticket_call_next(desk_id=desk.pk)
        workflow.ticket_start(ticket_id=ticket.pk)
    client = client_for(clinic_a)
    client.force_authenticate(user=user)
    answer = client.post(
        f"/api/v1/tickets/{ticket.pk}/transfer/", {"service": triage.pk}, format="json"
    )
    with clinic_a:
        old = Ticket.objects.get(pk=ticket.pk)
        new = Ticket.objects.get(pk=answer.json()["id"])
        old_kinds = list(TicketEvent.objects.filter(ticket=old).values_list("kind", flat=True))
        new_events = list(TicketEvent.objects.filter(ticket=new))
        transferred = TicketEvent.objects.get(ticket=old, kind="transferred")
    assert answer.status_code == 201
    assert answer.json()["display_code"] == "T001"
    assert answer.json()["transferred_from"] == {"id": old.pk, "display_code": "R001"}
    assert answer.json()["position"] == 1
    assert (old.status, new.status) == ("transferred", "waiting")
    assert new.arrived_at == arrived
    assert new.transferred_from_id == old.pk
    assert new.patient_id == old.patient_id
    assert (new.priority_tier, new.priority_reason) == (1, "pregnant")  # declared reason carried
    assert old_kinds == ["issued", "called", "started", "transferred"]
    assert [(e.kind, e.actor_id) for e in new_events] == [("issued", user.pk)]
    assert new_events[0].detail == {"transferred_from": "R001"}
    assert transferred.detail["to_code"] == "T001"
    assert transferred.desk_id == desk.pk


def test_a_transferred_patient_goes_ahead_of_later_arrivals_in_the_target_queue(clinic_a):
    base = timezone.now() - datetime.timedelta(hours=1)
    with clinic_a:
        reception, triage = f.reception(), f.service("Triagem", "T")
        triage_desk = f.desk("Triagem 1", triage)
        f.waiting(triage, arrived_at=base + datetime.timedelta(minutes=30))  # T001, arrived later
        ticket = f.waiting(reception, arrived_at=base)
        moved = workflow.ticket_transfer(ticket_id=ticket.pk, service_id=triage.pk)
        first = workflow.ticket_call_next(desk_id=triage_desk.pk)
    assert moved.display_code == "T002"
    assert first.pk == moved.pk


def test_the_ticket_detail_shows_the_history_on_both_sides_of_a_transfer(clinic_a):
    user = f.staff(clinic_a, "receptionist")
    with clinic_a:
        reception, triage = f.reception(), f.service("Triagem", "T")
        ticket = f.waiting(reception)
        moved = workflow.ticket_transfer(ticket_id=ticket.pk, service_id=triage.pk, actor=user)
    client = client_for(clinic_a)
    client.force_authenticate(user=user)
    old = client.get(f"/api/v1/tickets/{ticket.pk}/").json()
    new = client.get(f"/api/v1/tickets/{moved.pk}/").json()
    assert old["transferred_to"] == {"id": moved.pk, "display_code": "T001"}
    assert [e["kind"] for e in old["events"]] == ["issued", "transferred"]
    assert old["events"][1]["actor"] == user.email
    assert new["transferred_from"] == {"id": ticket.pk, "display_code": "R001"}
    assert [e["kind"] for e in new["events"]] == ["issued"]


@pytest.mark.parametrize(
    ("target", "message"),
    [("same", "já está em"), ("inactive", "não está ativo"), ("missing", "Não existe serviço")],
)
def test_a_transfer_to_an_impossible_service_is_400_on_the_service_field(clinic_a, target, message):
    user = f.staff(clinic_a, "receptionist")
    with clinic_a:
        reception = f.reception()
        ticket = f.waiting(reception)
        service_id = {
            "same": reception.pk,
            "inactive": f.service("Raio-X", "X", is_active=False).pk,
            "missing": 999999,
        }[target]
    client = client_for(clinic_a)
    client.force_authenticate(user=user)
    answer = client.post(
        f"/api/v1/tickets/{ticket.pk}/transfer/", {"service": service_id}, format="json"
    )
    with clinic_a:
        ticket.refresh_from_db()
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["attr"] == "service"
    assert message in answer.json()["errors"][0]["detail"]
    assert ticket.status == "waiting"
