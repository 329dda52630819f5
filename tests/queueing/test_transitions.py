"""Every ticket action from every status: the allowed ones change the ticket and leave an event,
the others answer 409 with the current status and change nothing."""

import datetime
import itertools
import threading

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from queueing.models import Service, Ticket, TicketEvent
from queueing.services import workflow
from tests.conftest import client_for
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

ACTIONS = ["recall", "start", "finish", "no-show", "cancel", "requeue", "transfer"]
STATUSES = ["waiting", "called", "in_service", "done", "no_show", "cancelled", "transferred"]
ALLOWED = {
    "recall": {"called"},
    "start": {"called"},
    "finish": {"in_service"},
    "no-show": {"called"},
    "cancel": {"waiting"},
    "requeue": {"called"},
    "transfer": {"waiting", "called", "in_service"},
}
_desk_numbers = itertools.count(1)


def ticket_in(status: str) -> Ticket:
    """A ticket of the reception brought to `status` through the workflow itself."""
    reception = f.reception()
    ticket = f.waiting(reception)
    if status == "waiting":
        return ticket
    if status == "cancelled":
        return workflow.ticket_cancel(ticket_id=ticket.pk, reason="Left")
    if status == "transferred":
        triage = _triage() or f.service("Triagem", "T")
        workflow.ticket_transfer(ticket_id=ticket.pk, service_id=triage.pk)
        return Ticket.objects.get(pk=ticket.pk)
    desk = f.desk(f"Mesa {next(_desk_numbers)}", reception)
    # Other waiting tickets may exist: keep calling until this one is at the desk.
    Ticket.objects.filter(status="waiting").exclude(pk=ticket.pk).update(status="cancelled")
    workflow.ticket_call_next(desk_id=desk.pk)
    if status == "no_show":
        return workflow.ticket_no_show(ticket_id=ticket.pk)
    if status in ("in_service", "done"):
        workflow.ticket_start(ticket_id=ticket.pk)
    if status == "done":
        workflow.ticket_finish(ticket_id=ticket.pk)
    return Ticket.objects.get(pk=ticket.pk)


def _triage():
    return Service.objects.filter(prefix="T").first()


def _body(action: str) -> dict:
    if action == "cancel":
        return {"reason": "Patient left"}
    if action == "transfer":
        return {"service": (_triage() or f.service("Triagem", "T")).pk}
    return {}


@pytest.fixture
def desk_client(clinic_a):
    client = client_for(clinic_a)
    client.force_authenticate(user=f.staff(clinic_a, "clinic_admin"))
    return client


@pytest.mark.parametrize(
    ("status", "action"),
    [(s, a) for a in ACTIONS for s in STATUSES if s not in ALLOWED[a]],
)
def test_an_action_not_allowed_from_the_status_answers_409_and_changes_nothing(
    clinic_a, desk_client, status, action
):
    with clinic_a:
        ticket = ticket_in(status)
        body = _body(action)
        events_before = TicketEvent.objects.filter(ticket=ticket).count()
    answer = desk_client.post(f"/api/v1/tickets/{ticket.pk}/{action}/", body, format="json")
    with clinic_a:
        ticket.refresh_from_db()
        events_after = TicketEvent.objects.filter(ticket=ticket).count()
    assert answer.status_code == 409, answer.content
    assert answer.json()["type"] == "client_error"
    assert answer.json()["errors"][0]["code"] == "invalid_transition"
    # In the clinic's language (Portuguese), naming the ticket and its status as staff read it.
    label = {
        "waiting": "Aguardando",
        "called": "Chamada",
        "in_service": "Em atendimento",
        "done": "Concluída",
        "no_show": "Não compareceu",
        "cancelled": "Cancelada",
        "transferred": "Transferida",
        "expired": "Expirada",
    }[status]
    assert answer.json()["errors"][0]["detail"].startswith(
        f"A senha {ticket.display_code} está “{label}”: "
    ), answer.json()
    assert answer.json()["current_status"] == status
    assert ticket.status == status
    assert events_after == events_before


@pytest.mark.parametrize(
    ("status", "action", "new_status", "event"),
    [
        ("called", "recall", "called", "recalled"),
        ("called", "start", "in_service", "started"),
        ("in_service", "finish", "done", "finished"),
        ("called", "no-show", "no_show", "no_show"),
        ("waiting", "cancel", "cancelled", "cancelled"),
        ("called", "requeue", "waiting", "returned"),
        ("waiting", "transfer", "transferred", "transferred"),
        ("called", "transfer", "transferred", "transferred"),
        ("in_service", "transfer", "transferred", "transferred"),
    ],
)
def test_an_allowed_action_changes_the_status_and_records_who_and_where(
    clinic_a, desk_client, status, action, new_status, event
):
    with clinic_a:
        ticket = ticket_in(status)
        desk_id = ticket.desk_id
        body = _body(action)
    answer = desk_client.post(f"/api/v1/tickets/{ticket.pk}/{action}/", body, format="json")
    with clinic_a:
        ticket.refresh_from_db()
        last = TicketEvent.objects.filter(ticket=ticket).order_by("-at", "-id").first()
    assert answer.status_code == (201 if action == "transfer" else 200), answer.content
    assert ticket.status == new_status
    assert (last.kind, last.from_status, last.to_status) == (event, status, new_status)
    assert last.actor is not None
    assert last.desk_id == desk_id


def test_recall_counts_and_start_finish_stamp_their_times(clinic_a, desk_client):
    with clinic_a:
        ticket = ticket_in("called")
    desk_client.post(f"/api/v1/tickets/{ticket.pk}/recall/")
    second = desk_client.post(f"/api/v1/tickets/{ticket.pk}/recall/")
    started = desk_client.post(f"/api/v1/tickets/{ticket.pk}/start/")
    finished = desk_client.post(f"/api/v1/tickets/{ticket.pk}/finish/")
    assert second.json()["recall_count"] == 2
    assert started.json()["started_at"] is not None
    assert finished.json()["finished_at"] is not None
    assert finished.json()["status"] == "done"
    with clinic_a:
        recalls = TicketEvent.objects.filter(ticket=ticket, kind="recalled").order_by("id")
        assert [event.detail for event in recalls] == [{"recall_count": 1}, {"recall_count": 2}]


def test_a_cancellation_records_its_reason_on_the_ticket_and_the_event(clinic_a):
    with clinic_a:
        ticket = ticket_in("waiting")
        workflow.ticket_cancel(ticket_id=ticket.pk, reason="  Gave up  ")
        ticket.refresh_from_db()
        event = TicketEvent.objects.get(ticket=ticket, kind="cancelled")
    assert ticket.cancel_reason == "Gave up"
    assert (event.detail, event.desk_id) == ({"reason": "Gave up"}, None)


def test_a_returned_ticket_keeps_its_place_by_arrival(clinic_a):
    base = timezone.now() - datetime.timedelta(hours=1)
    with clinic_a:
        reception = f.reception()
        desk = f.desk("Guichê 1", reception)
        first = f.waiting(reception, arrived_at=base)
        f.waiting(reception, arrived_at=base + datetime.timedelta(minutes=5))
        workflow.ticket_call_next(desk_id=desk.pk)
        workflow.ticket_requeue(ticket_id=first.pk)
        again = workflow.ticket_call_next(desk_id=desk.pk)
        first.refresh_from_db()
    assert again.pk == first.pk
    assert first.arrived_at == base


def test_cancelling_needs_a_reason_and_a_reception_role(clinic_a):
    clinician = f.staff(clinic_a, "clinician")
    receptionist = f.staff(clinic_a, "receptionist")
    with clinic_a:
        ticket = f.waiting(f.reception())
    client = client_for(clinic_a)
    client.force_authenticate(user=clinician)
    forbidden = client.post(f"/api/v1/tickets/{ticket.pk}/cancel/", {"reason": "x"}, format="json")
    client.force_authenticate(user=receptionist)
    no_reason = client.post(f"/api/v1/tickets/{ticket.pk}/cancel/", {"reason": ""}, format="json")
    done = client.post(f"/api/v1/tickets/{ticket.pk}/cancel/", {"reason": "Gave up"}, format="json")
    assert forbidden.status_code == 403
    assert no_reason.status_code == 400
    assert no_reason.json()["errors"][0]["attr"] == "reason"
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["cancel_reason"]) == ("cancelled", "Gave up")


def test_a_cancelled_ticket_is_never_called(clinic_a):
    with clinic_a:
        desk = f.desk("Guichê 1", f.reception())
        ticket = f.waiting(f.reception())
        workflow.ticket_cancel(ticket_id=ticket.pk, reason="Left")
        assert workflow.ticket_call_next(desk_id=desk.pk) is None


def test_a_ticket_of_an_earlier_day_cannot_be_called_again(clinic_a, desk_client):
    yesterday = datetime.datetime(2026, 3, 1, 15, 0, tzinfo=datetime.UTC)
    with clinic_a, time_machine.travel(yesterday, tick=False):
        ticket = ticket_in("called")
    with time_machine.travel(yesterday + datetime.timedelta(days=1), tick=False):
        answer = desk_client.post(f"/api/v1/tickets/{ticket.pk}/recall/")
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["code"] == "earlier_service_day"
    assert answer.json()["current_status"] == "called"


def test_actions_on_an_unknown_ticket_are_404(desk_client):
    assert desk_client.post("/api/v1/tickets/999999/start/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_desks_closing_the_same_ticket_at_once_close_it_once(clinic_a):
    with clinic_a:
        ticket = ticket_in("in_service")
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def finish() -> None:
        try:
            connection.set_tenant(clinic_a)
            start.wait()
            workflow.ticket_finish(ticket_id=ticket.pk)
            outcomes.append("finished")
        except workflow.TicketActionRefused as refused:
            outcomes.append(f"refused:{refused.current_status}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=finish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with clinic_a:
        finished_events = TicketEvent.objects.filter(ticket=ticket, kind="finished").count()
    assert sorted(outcomes) == ["finished", "refused:done"]
    assert finished_events == 1
