"""Call next: legal priority order, arrival order, interleaving, concurrency, the desk's state."""

import datetime
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from queueing.models import Desk, Ticket, TicketEvent
from queueing.services.workflow import (
    TicketActionRefused,
    ticket_call_next,
    ticket_no_show,
)
from tests.conftest import client_for
from tests.queueing import factories as f


def _drain(desk: Desk) -> list[str]:
    """Call until nobody waits; each called ticket is marked a no-show to free the desk."""
    codes = []
    while (ticket := ticket_call_next(desk_id=desk.pk)) is not None:
        codes.append(ticket.display_code)
        ticket_no_show(ticket_id=ticket.pk)
    return codes


@pytest.mark.django_db
def test_tiers_are_called_80_plus_then_priority_then_blood_donors_then_normal(clinic_a):
    base = timezone.now() - datetime.timedelta(hours=1)

    def at(minutes):
        return base + datetime.timedelta(minutes=minutes)

    with clinic_a:
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        normal_first = f.waiting(svc, arrived_at=at(0))  # R001
        donor = f.waiting(svc, reason="blood_donor", arrived_at=at(1))  # R002
        sixty = f.waiting(svc, birth_date=datetime.date(1960, 1, 1), arrived_at=at(2))  # R003
        pregnant = f.waiting(svc, reason="pregnant", arrived_at=at(3))  # R004
        eighty = f.waiting(svc, birth_date=datetime.date(1940, 1, 1), arrived_at=at(4))  # R005
        normal_late = f.waiting(svc, arrived_at=at(5))  # R006
        eighty_late = f.waiting(svc, birth_date=datetime.date(1930, 1, 1), arrived_at=at(6))
        order = _drain(desk)
    assert order == [
        eighty.display_code,
        eighty_late.display_code,
        sixty.display_code,
        pregnant.display_code,
        donor.display_code,
        normal_first.display_code,
        normal_late.display_code,
    ]


@pytest.mark.django_db
def test_within_a_tier_the_earlier_arrival_is_called_first_whatever_the_number(clinic_a):
    now = timezone.now()
    with clinic_a:
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        # R001 was issued first but arrived later (e.g. a transfer kept an earlier arrival).
        later = f.waiting(svc, arrived_at=now - datetime.timedelta(minutes=1))
        earlier = f.waiting(svc, arrived_at=now - datetime.timedelta(minutes=30))
        order = _drain(desk)
    assert order == [earlier.display_code, later.display_code]


@pytest.mark.django_db
def test_interleave_calls_one_normal_ticket_after_n_priority_calls(clinic_a):
    base = timezone.now() - datetime.timedelta(hours=1)
    with clinic_a:
        svc = f.service("Triagem", "T", priority_policy="interleave", interleave_after=2)
        desk = f.desk("Triagem 1", svc)
        codes = {}
        for i, label in enumerate(["N1", "P1", "P2", "N2", "P3", "P4", "P5"]):
            reason = "pregnant" if label.startswith("P") else ""
            ticket = f.waiting(svc, reason=reason, arrived_at=base + datetime.timedelta(minutes=i))
            codes[ticket.display_code] = label
        order = [codes[c] for c in _drain(desk)]
        interleaved = TicketEvent.objects.filter(
            kind="called", detail__interleave_turn=True
        ).count()
    assert order == ["P1", "P2", "N1", "P3", "P4", "N2", "P5"]
    assert interleaved == 2


@pytest.mark.django_db
def test_strict_policy_calls_every_priority_ticket_before_any_normal(clinic_a):
    base = timezone.now() - datetime.timedelta(hours=1)
    with clinic_a:
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        labels = {}
        for i, label in enumerate(["N1", "P1", "P2", "P3", "P4"]):
            reason = "autism" if label.startswith("P") else ""
            ticket = f.waiting(svc, reason=reason, arrived_at=base + datetime.timedelta(minutes=i))
            labels[ticket.display_code] = label
        order = [labels[c] for c in _drain(desk)]
    assert order == ["P1", "P2", "P3", "P4", "N1"]


@pytest.mark.django_db
def test_interleave_gives_a_late_normal_ticket_its_turn_after_a_priority_streak(clinic_a):
    base = timezone.now() - datetime.timedelta(hours=1)
    with clinic_a:
        svc = f.service("Triagem", "T", priority_policy="interleave", interleave_after=2)
        desk = f.desk("Triagem 1", svc)
        for i in range(3):  # three priority calls with nobody normal waiting
            f.waiting(svc, reason="pregnant", arrived_at=base + datetime.timedelta(minutes=i))
        assert len(_drain(desk)) == 3
        f.waiting(svc, reason="pregnant", arrived_at=base + datetime.timedelta(minutes=10))
        normal = f.waiting(svc, arrived_at=base + datetime.timedelta(minutes=11))
        first = ticket_call_next(desk_id=desk.pk)
    assert first.display_code == normal.display_code


@pytest.mark.django_db
def test_a_desk_serving_two_services_calls_the_higher_tier_first(clinic_a):
    base = timezone.now() - datetime.timedelta(hours=1)
    with clinic_a:
        reception = f.reception()
        triage = f.service("Triagem", "T")
        desk = f.desk("Guichê 1", reception, triage)
        f.waiting(reception, arrived_at=base)
        f.waiting(triage, reason="disability", arrived_at=base + datetime.timedelta(minutes=5))
        order = _drain(desk)
    assert order == ["T001", "R001"]


@pytest.mark.django_db
def test_calling_marks_the_ticket_called_at_the_desk_by_the_user_with_an_event(clinic_a):
    user = f.staff(clinic_a, "clinician")
    with clinic_a:
        desk = f.desk("Consultório 1", f.reception())
        f.waiting(f.reception())
        ticket = ticket_call_next(desk_id=desk.pk, actor=user)
        event = TicketEvent.objects.get(ticket=ticket, kind="called")
    assert (ticket.status, ticket.desk_id, ticket.called_by_id) == ("called", desk.pk, user.pk)
    assert ticket.called_at is not None
    assert (event.actor_id, event.desk_id, event.from_status, event.to_status) == (
        user.pk,
        desk.pk,
        "waiting",
        "called",
    )


@pytest.mark.django_db
def test_a_desk_still_holding_a_ticket_must_close_it_before_calling_again(clinic_a):
    with clinic_a:
        desk = f.desk("Guichê 1", f.reception())
        held = f.waiting(f.reception())
        f.waiting(f.reception())
        ticket_call_next(desk_id=desk.pk)
        with pytest.raises(TicketActionRefused) as refused:
            ticket_call_next(desk_id=desk.pk)
    assert refused.value.code == "desk_busy"
    assert refused.value.ticket.pk == held.pk


@pytest.mark.django_db
def test_call_next_api_answers_the_ticket_then_an_empty_queue_clearly(clinic_a):
    user = f.staff(clinic_a, "receptionist")
    with clinic_a:
        desk = f.desk("Guichê 1", f.reception())
        ticket = f.waiting(f.reception())
    client = client_for(clinic_a)
    client.force_authenticate(user=user)
    called = client.post(f"/api/v1/desks/{desk.pk}/call-next/")
    client.post(f"/api/v1/tickets/{ticket.pk}/no-show/")
    empty = client.post(f"/api/v1/desks/{desk.pk}/call-next/")
    assert called.status_code == 200
    assert called.json()["ticket"]["display_code"] == "R001"
    assert called.json()["ticket"]["desk"]["name"] == "Guichê 1"
    assert empty.status_code == 200
    assert empty.json() == {"ticket": None, "detail": "No one is waiting for this desk's services."}


@pytest.mark.django_db
def test_call_next_api_refuses_a_busy_or_inactive_desk_with_409(clinic_a):
    user = f.staff(clinic_a, "clinician")
    with clinic_a:
        busy = f.desk("Guichê 1", f.reception())
        closed = f.desk("Guichê 2", f.reception(), is_active=False)
        f.waiting(f.reception())
        f.waiting(f.reception())
    client = client_for(clinic_a)
    client.force_authenticate(user=user)
    client.post(f"/api/v1/desks/{busy.pk}/call-next/")
    again = client.post(f"/api/v1/desks/{busy.pk}/call-next/")
    inactive = client.post(f"/api/v1/desks/{closed.pk}/call-next/")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "desk_busy"
    assert again.json()["current_status"] == "called"
    assert again.json()["ticket"]["display_code"] == "R001"
    assert inactive.status_code == 409
    assert inactive.json()["errors"][0]["code"] == "desk_inactive"


@pytest.mark.django_db
def test_only_clinic_staff_may_call_and_an_unknown_desk_is_404(clinic_a, clinic_c):
    outsider = f.staff(clinic_c, "clinic_admin")
    insider = f.staff(clinic_a, "clinician")
    with clinic_a:
        desk = f.desk("Guichê 1", f.reception())
    client = client_for(clinic_a)
    client.force_authenticate(user=outsider)
    refused = client.post(f"/api/v1/desks/{desk.pk}/call-next/")
    client.force_authenticate(user=insider)
    missing = client.post("/api/v1/desks/999999/call-next/")
    assert refused.status_code == 403
    assert missing.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_ten_desks_calling_at_once_never_share_a_ticket_and_call_each_exactly_once(clinic_a):
    with clinic_a:
        svc = f.reception()
        desks = [f.desk(f"Guichê {i}", svc) for i in range(1, 11)]
        tickets = [f.waiting(svc) for _ in range(100)]
    called: dict[int, list[int]] = {d.pk: [] for d in desks}
    errors: list[Exception] = []
    start = threading.Barrier(len(desks))

    def work(desk: Desk) -> None:
        try:
            connection.set_tenant(clinic_a)
            start.wait()
            while (ticket := ticket_call_next(desk_id=desk.pk)) is not None:
                called[desk.pk].append(ticket.pk)
                ticket_no_show(ticket_id=ticket.pk)
        except Exception as error:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(d,)) for d in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        with clinic_a:
            call_events = TicketEvent.objects.filter(kind="called").count()
            still_waiting = Ticket.objects.filter(status="waiting").count()
    finally:
        with clinic_a:
            TicketEvent.objects.all().delete()
            Ticket.objects.all().delete()
            Desk.objects.all().delete()
    every_call = [t for calls in called.values() for t in calls]
    assert errors == []
    assert sorted(every_call) == sorted(t.pk for t in tickets)  # all 100, none twice
    assert call_events == 100
    assert still_waiting == 0
    assert sum(1 for calls in called.values() if calls) >= 2  # the desks really did share
