"""Undoing a no-show or a cancellation: within seconds, by the same person, the ticket as it was."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from events.models import Event
from queueing.models import Ticket, TicketEvent
from queueing.services.workflow import (
    UNDO_WINDOW,
    TicketActionRefused,
    ticket_call_next,
    ticket_cancel,
    ticket_cancel_undo,
    ticket_no_show,
    ticket_no_show_undo,
)
from tests.conftest import client_for
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


def _no_show(clinic):
    reception = f.reception()
    desk = f.desk("Guichê 1", reception)
    f.waiting(reception)
    user = f.staff(clinic, "clinician")
    called = ticket_call_next(desk_id=desk.pk, actor=user)
    ticket_no_show(ticket_id=called.pk, actor=user)
    return called, desk, user


def test_an_undone_no_show_is_called_at_its_desk_again_as_it_was(clinic_a):
    with clinic_a:
        called, desk, user = _no_show(clinic_a)

        restored = ticket_no_show_undo(ticket_id=called.pk, actor=user)

        assert (restored.status, restored.desk_id) == ("called", desk.pk)
        assert restored.called_at == called.called_at
        assert restored.recall_count == called.recall_count
        assert [e.kind for e in TicketEvent.objects.filter(ticket=called).order_by("id")] == [
            "issued",
            "called",
            "no_show",
            "restored",
        ]
        streamed = Event.objects.filter(ticket_id=called.pk).order_by("-id").first()
        assert (streamed.kind, streamed.data["status"], streamed.desk_id) == (
            "ticket.restored",
            "called",
            desk.pk,
        )
        # The desk holds it again: it cannot call the next one until it is done with it
        with pytest.raises(TicketActionRefused) as busy:
            ticket_call_next(desk_id=desk.pk, actor=user)
        assert busy.value.code == "desk_busy"


def test_an_undone_cancellation_waits_again_in_its_place(clinic_a):
    with clinic_a:
        reception = f.reception()
        first = f.waiting(reception)
        f.waiting(reception)
        user = f.staff(clinic_a, "receptionist")
        ticket_cancel(ticket_id=first.pk, reason="Desistiu", actor=user)

        restored = ticket_cancel_undo(ticket_id=first.pk, actor=user)

        assert (restored.status, restored.cancel_reason) == ("waiting", "")
        desk = f.desk("Guichê 1", reception)
        assert ticket_call_next(desk_id=desk.pk).pk == first.pk  # first in line again


@pytest.mark.parametrize("case", ["late", "someone_else", "desk_busy", "twice"])
def test_an_undo_out_of_its_window_or_by_another_person_is_refused(clinic_a, case):
    with clinic_a:
        called, desk, user = _no_show(clinic_a)
        actor = f.staff(clinic_a, "clinician") if case == "someone_else" else user
        if case == "desk_busy":
            f.waiting(called.service)
            ticket_call_next(desk_id=desk.pk, actor=user)
        if case == "twice":
            ticket_no_show_undo(ticket_id=called.pk, actor=user)
        later = timezone.now() + (UNDO_WINDOW + datetime.timedelta(seconds=1))

        when = later if case == "late" else timezone.now()
        with time_machine.travel(when, tick=False), pytest.raises(TicketActionRefused) as refused:
            ticket_no_show_undo(ticket_id=called.pk, actor=actor)

        expected = {
            "late": "undo_expired",
            "someone_else": "undo_not_yours",
            "desk_busy": "desk_busy",
            "twice": "invalid_transition",
        }[case]
        assert refused.value.code == expected
        if case != "twice":
            assert Ticket.objects.get(pk=called.pk).status == "no_show"


def test_the_api_undoes_a_no_show_and_a_cancellation(clinic_a):
    with clinic_a:
        reception = f.reception()
        desk = f.desk("Guichê 1", reception)
        f.waiting(reception)
        waiting = f.waiting(reception)
    user = f.staff(clinic_a, "receptionist")
    client = client_for(clinic_a)
    client.force_authenticate(user=user)

    called = client.post(f"/api/v1/desks/{desk.pk}/call-next/").json()["ticket"]
    client.post(f"/api/v1/tickets/{called['id']}/no-show/")
    undone = client.post(f"/api/v1/tickets/{called['id']}/no-show/undo/")
    client.post(f"/api/v1/tickets/{waiting.pk}/cancel/", {"reason": "Saiu"}, format="json")
    uncancelled = client.post(f"/api/v1/tickets/{waiting.pk}/cancel/undo/")
    nothing = client.post(f"/api/v1/tickets/{waiting.pk}/cancel/undo/")

    assert (undone.status_code, undone.json()["status"]) == (200, "called")
    assert undone.json()["desk"]["id"] == desk.pk
    assert (uncancelled.status_code, uncancelled.json()["status"]) == (200, "waiting")
    assert nothing.status_code == 409
    assert nothing.json()["errors"][0]["code"] == "invalid_transition"
