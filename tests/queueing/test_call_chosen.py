"""Calling a chosen ticket out of order: the desk's rules, the reason, the stream, the figures."""

import threading

import pytest
from django.db import connection, connections

from events.models import Event
from queueing.models import Ticket, TicketEvent
from queueing.selectors.report import figures_report_csv, figures_report_get
from queueing.services.desk_breaks import desk_break_start
from queueing.services.workflow import (
    TicketActionRefused,
    ticket_call_chosen,
    ticket_call_next,
)
from tests.conftest import client_for
from tests.queueing import factories as f
from tests.queueing.test_call_next import _queue_clean


@pytest.mark.django_db
def test_a_desk_calls_the_chosen_ticket_before_earlier_arrivals_and_records_why(clinic_a):
    # Given three waiting tickets, R001 first in line
    with clinic_a:
        reception = f.reception()
        desk = f.desk("Guichê 1", reception)
        f.waiting(reception)
        f.waiting(reception)
        third = f.waiting(reception)
        user = f.staff(clinic_a, "clinician")

        # When the desk calls R003 out of order, saying why
        called = ticket_call_chosen(
            desk_id=desk.pk, ticket_id=third.pk, reason="  Resultado de exame  ", actor=user
        )

        # Then R003 is called at the desk, and its call says it was out of order and why
        assert (called.display_code, called.status, called.desk_id) == ("R003", "called", desk.pk)
        event = TicketEvent.objects.get(ticket=third, kind="called")
        assert event.detail == {"out_of_order": True, "reason": "Resultado de exame"}
        assert event.actor_id == user.pk
        # and the stream has a call like any other, marked, without the free-text reason
        streamed = Event.objects.get(kind="ticket.called", ticket_id=third.pk)
        assert streamed.data["out_of_order"] is True
        assert "reason" not in streamed.data
        assert streamed.desk_id == desk.pk
        # and the desk holds R003 now, like any call: one ticket at a time
        with pytest.raises(TicketActionRefused) as busy:
            ticket_call_next(desk_id=desk.pk)
        assert busy.value.code == "desk_busy"


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["busy", "on_break", "other_service", "not_waiting", "inactive"])
def test_a_chosen_call_the_desk_cannot_make_is_refused_and_changes_nothing(clinic_a, case):
    with clinic_a:
        reception, triage = f.reception(), f.service("Triagem", "T")
        desk = f.desk("Guichê 1", reception, is_active=case != "inactive")
        other_desk = f.desk("Guichê 2", reception, triage)
        chosen = f.waiting(triage if case == "other_service" else reception)
        if case == "busy":
            f.waiting(reception, arrived_at=chosen.arrived_at.replace(year=2000))
            ticket_call_next(desk_id=desk.pk)
        if case == "on_break":
            desk_break_start(desk_id=desk.pk, reason="lunch")
        if case == "not_waiting":
            ticket_call_chosen(desk_id=other_desk.pk, ticket_id=chosen.pk, reason="urgente")
        before = Ticket.objects.get(pk=chosen.pk).status

        with pytest.raises(TicketActionRefused) as refused:
            ticket_call_chosen(desk_id=desk.pk, ticket_id=chosen.pk, reason="urgente")

        expected = {
            "busy": "desk_busy",
            "on_break": "desk_on_break",
            "other_service": "service_not_served",
            "not_waiting": "invalid_transition",
            "inactive": "desk_inactive",
        }[case]
        assert refused.value.code == expected
        assert Ticket.objects.get(pk=chosen.pk).status == before


@pytest.mark.django_db(transaction=True)
def test_two_desks_choosing_the_same_ticket_never_both_get_it(clinic_a):
    with clinic_a:
        reception = f.reception()
        desks = [f.desk(f"Guichê {n}", reception) for n in range(1, 5)]
        f.waiting(reception)
        chosen = f.waiting(reception)
    start = threading.Barrier(len(desks))
    got, refused, errors = [], [], []

    def work(desk) -> None:
        try:
            connection.set_tenant(clinic_a)
            start.wait()
            try:
                called = ticket_call_chosen(desk_id=desk.pk, ticket_id=chosen.pk, reason="urgente")
                got.append(called.desk_id)
            except TicketActionRefused as error:
                refused.append(error.code)
        except Exception as error:  # noqa: BLE001 - surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(d,)) for d in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert len(got) == 1
        assert refused == ["invalid_transition"] * (len(desks) - 1)
        with clinic_a:
            assert TicketEvent.objects.filter(ticket_id=chosen.pk, kind="called").count() == 1
            assert Ticket.objects.get(pk=chosen.pk).desk_id == got[0]
    finally:
        _queue_clean(clinic_a)


@pytest.mark.django_db
def test_the_api_calls_a_chosen_ticket_and_asks_for_the_reason(clinic_a):
    with clinic_a:
        reception = f.reception()
        desk = f.desk("Guichê 1", reception)
        f.waiting(reception)
        chosen = f.waiting(reception)
    client = client_for(clinic_a)
    client.force_authenticate(user=f.staff(clinic_a, "receptionist"))
    url = f"/api/v1/desks/{desk.pk}/call/"

    no_reason = client.post(url, {"ticket": chosen.pk, "reason": " "}, format="json")
    too_long = client.post(url, {"ticket": chosen.pk, "reason": "x" * 201}, format="json")
    missing = client.post(url, {"ticket": 999999, "reason": "urgente"}, format="json")
    answer = client.post(url, {"ticket": chosen.pk, "reason": "Gestante com dor"}, format="json")
    again = client.post(url, {"ticket": chosen.pk, "reason": "urgente"}, format="json")

    assert (no_reason.status_code, no_reason.json()["errors"][0]["attr"]) == (400, "reason")
    assert (too_long.status_code, too_long.json()["errors"][0]["attr"]) == (400, "reason")
    assert missing.status_code == 404
    assert answer.status_code == 200, answer.content
    assert (answer.json()["display_code"], answer.json()["status"]) == ("R002", "called")
    assert answer.json()["desk"] == {"id": desk.pk, "name": "Guichê 1"}
    # A second call finds the desk holding R002 (in Portuguese: the clinic's language)
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "desk_busy"
    assert "Guichê 1 ainda está com a senha R002" in again.json()["errors"][0]["detail"]


@pytest.mark.django_db
def test_out_of_order_calls_are_counted_per_day_and_desk_in_the_figures_and_csv(clinic_a):
    with clinic_a:
        reception = f.reception()
        one, two = f.desk("Guichê 1", reception), f.desk("Guichê 2", reception)
        for _ in range(3):
            f.waiting(reception)
        tickets = list(Ticket.objects.filter(service=reception).order_by("number"))
        ticket_call_chosen(desk_id=one.pk, ticket_id=tickets[2].pk, reason="urgente")
        ticket_call_next(desk_id=two.pk)  # R001, in order
        day = tickets[0].service_day

        report = figures_report_get(date_from=day, date_to=day)
        csv = figures_report_csv(report=report, clinic_name="Clínica Sol")

    assert report.totals["calls"] == 2
    assert report.totals["out_of_order_calls"] == 1
    by_desk = {d["desk"]: d["out_of_order_calls"] for d in report.desks}
    assert by_desk == {"Guichê 1": 1, "Guichê 2": 0}
    assert report.out_of_order == [
        {"service_day": day, "desk_id": one.pk, "desk": "Guichê 1", "calls": 1}
    ]
    expected = f"Chamadas fora de ordem\r\nDia;Guichê;Chamadas\r\n{day.isoformat()};Guichê 1;1\r\n"
    assert expected in csv
