"""Call next: legal priority order, arrival order, interleaving, concurrency, the desk's state."""

import datetime
import threading

import pytest
import time_machine
from django.db import connection, connections, transaction
from django.utils import timezone

from queueing.clock import service_day_today
from queueing.models import (
    Desk,
    PriorityTier,
    Service,
    Ticket,
    TicketCounter,
    TicketEvent,
)
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


def _call_at_once(
    clinic, desks: list[Desk], *, calls: int | None = None
) -> tuple[dict[int, list[int]], list[Exception]]:
    """Every desk calls in a thread of its own (own connection), all starting together.

    Each called ticket is marked a no-show to free the desk. The desks stop when nobody waits,
    or after `calls` calls in all. Returns the ticket ids each desk called, and any errors.
    """
    called: dict[int, list[int]] = {d.pk: [] for d in desks}
    errors: list[Exception] = []
    left = [calls]
    budget = threading.Lock()
    start = threading.Barrier(len(desks))

    def work(desk: Desk) -> None:
        try:
            connection.set_tenant(clinic)
            start.wait()
            while True:
                with budget:
                    if left[0] is not None:
                        if left[0] == 0:
                            return
                        left[0] -= 1
                ticket = ticket_call_next(desk_id=desk.pk)
                if ticket is None:
                    return
                called[desk.pk].append(ticket.pk)
                ticket_no_show(ticket_id=ticket.pk)
        except Exception as error:  # noqa: BLE001 - surfaced by the callers' assertions
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(d,)) for d in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return called, errors


def _queue_clean(clinic) -> None:
    """Remove what a transactional test committed to the queue; the default service stays."""
    with clinic:
        TicketEvent.objects.all().delete()
        Ticket.objects.all().delete()
        TicketCounter.objects.all().delete()
        Desk.objects.all().delete()
        Service.objects.filter(is_default=False).delete()


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
def test_interleave_keeps_its_turns_when_a_desk_clock_runs_behind_the_previous_call(clinic_a):
    noon = datetime.datetime(2026, 3, 2, 15, 0, tzinfo=datetime.UTC)
    with clinic_a, time_machine.travel(noon, tick=False):
        svc = f.service("Triagem", "T", priority_policy="interleave", interleave_after=1)
        desk = f.desk("Triagem 1", svc)
        labels = {}
        for i, label in enumerate(["P1", "P2", "N1", "N2"]):
            reason = "pregnant" if label.startswith("P") else ""
            ticket = f.waiting(
                svc, reason=reason, arrived_at=noon - datetime.timedelta(minutes=9 - i)
            )
            labels[ticket.display_code] = label
        first = ticket_call_next(desk_id=desk.pk)
        ticket_no_show(ticket_id=first.pk)
    # Another desk's host, its clock a minute behind the first one's.
    with clinic_a, time_machine.travel(noon - datetime.timedelta(minutes=1), tick=False):
        order = [labels[first.display_code]] + [labels[code] for code in _drain(desk)]
        times = list(
            TicketEvent.objects.filter(kind="called").order_by("id").values_list("at", flat=True)
        )
    assert order == ["P1", "N1", "P2", "N2"]
    assert times == sorted(times)


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
    try:
        called, errors = _call_at_once(clinic_a, desks)
        with clinic_a:
            call_events = TicketEvent.objects.filter(kind="called").count()
            still_waiting = Ticket.objects.filter(status="waiting").count()
    finally:
        _queue_clean(clinic_a)
    every_call = [t for calls in called.values() for t in calls]
    assert errors == []
    assert sorted(every_call) == sorted(t.pk for t in tickets)  # all 100, none twice
    assert call_events == 100
    assert still_waiting == 0
    assert sum(1 for calls in called.values() if calls) >= 2  # the desks really did share


@pytest.mark.django_db(transaction=True)
def test_desks_of_three_services_calling_at_once_never_share_a_ticket(clinic_a):
    base = timezone.now() - datetime.timedelta(hours=1)
    with clinic_a:
        services = [f.reception(), f.service("Triagem", "T"), f.service("Consulta", "C")]
        desks = [f.desk(f"Guichê {i}", *services) for i in range(1, 7)]
        tickets = [
            f.waiting(
                services[i % 3],
                reason="pregnant" if i % 4 == 0 else "",
                arrived_at=base + datetime.timedelta(seconds=i),
            )
            for i in range(90)
        ]
    try:
        called, errors = _call_at_once(clinic_a, desks)
        with clinic_a:
            call_events = TicketEvent.objects.filter(kind="called").count()
    finally:
        _queue_clean(clinic_a)
    every_call = [t for calls in called.values() for t in calls]
    assert errors == []
    assert sorted(every_call) == sorted(t.pk for t in tickets)  # all 90, none twice
    assert call_events == 90
    assert sum(1 for calls in called.values() if calls) >= 2


@pytest.mark.django_db(transaction=True)
def test_desks_calling_an_interleaved_service_at_once_keep_n_priority_then_one_normal(clinic_a):
    base = timezone.now() - datetime.timedelta(hours=1)
    with clinic_a:
        svc = f.service("Triagem", "T", priority_policy="interleave", interleave_after=2)
        desks = [f.desk(f"Triagem {i}", svc) for i in range(1, 7)]
        # Two priority tickets for each normal one, more of both than the calls take: both kinds
        # wait throughout, so every call has exactly one right answer.
        for i in range(90):
            f.waiting(
                svc,
                reason="pregnant" if i % 3 else "",
                arrived_at=base + datetime.timedelta(seconds=i),
            )
    try:
        _, errors = _call_at_once(clinic_a, desks, calls=60)
        with clinic_a:
            # The service's lock serialises its calls: event ids are the order of the calls.
            tiers = TicketEvent.objects.filter(kind="called").order_by("id")
            tiers = list(tiers.values_list("ticket__priority_tier", flat=True))
    finally:
        _queue_clean(clinic_a)
    calls = "".join("N" if tier == PriorityTier.NORMAL else "P" for tier in tiers)
    assert errors == []
    assert calls == "PPN" * 20


@pytest.mark.django_db
def test_a_desk_of_three_services_calls_across_them_by_tier_then_arrival(clinic_a):
    base = timezone.now() - datetime.timedelta(hours=1)

    def at(minutes):
        return base + datetime.timedelta(minutes=minutes)

    with clinic_a:
        reception, triage, consult = (
            f.reception(),
            f.service("Triagem", "T"),
            f.service("Consulta", "C"),
        )
        desk = f.desk("Guichê 1", reception, triage, consult)
        f.waiting(consult, arrived_at=at(0))  # C001
        f.waiting(reception, reason="blood_donor", arrived_at=at(1))  # R001
        f.waiting(triage, arrived_at=at(2))  # T001
        f.waiting(consult, reason="pregnant", arrived_at=at(3))  # C002
        f.waiting(reception, reason="autism", arrived_at=at(4))  # R002
        f.waiting(triage, birth_date=datetime.date(1935, 1, 1), arrived_at=at(5))  # T002
        f.waiting(reception, arrived_at=at(6))  # R003
        f.waiting(triage, reason="disability", arrived_at=at(7))  # T003
        order = _drain(desk)
    assert order == ["T002", "C002", "R002", "T003", "R001", "C001", "T001", "R003"]


@pytest.mark.django_db
def test_two_interleaved_services_due_a_normal_call_give_it_to_the_earlier_normal_arrival(
    clinic_a,
):
    base = timezone.now() - datetime.timedelta(hours=1)

    def at(minutes):
        return base + datetime.timedelta(minutes=minutes)

    with clinic_a:
        one = f.service("Triagem", "T", priority_policy="interleave", interleave_after=1)
        two = f.service("Consulta", "C", priority_policy="interleave", interleave_after=1)
        desk = f.desk("Guichê 1", one, two)
        f.waiting(one, reason="pregnant", arrived_at=at(0))  # T001
        f.waiting(two, reason="pregnant", arrived_at=at(1))  # C001
        first_calls = _drain(desk)  # both services' last call is now a priority call
        f.waiting(one, reason="pregnant", arrived_at=at(2))  # T002
        f.waiting(two, arrived_at=at(5))  # C002
        f.waiting(one, arrived_at=at(6))  # T003
        later_calls = _drain(desk)
    assert first_calls == ["T001", "C001"]
    # Strict order would call T002 first; both services are due their normal turn.
    assert later_calls == ["C002", "T003", "T002"]


@pytest.mark.django_db(transaction=True)
def test_a_desk_of_several_services_passes_tickets_other_desks_hold_and_takes_the_next(clinic_a):
    base = timezone.now() - datetime.timedelta(hours=1)
    with clinic_a:
        reception, triage = f.reception(), f.service("Triagem", "T")
        desk = f.desk("Guichê 1", reception, triage)
        held = [
            f.waiting(triage, reason="pregnant", arrived_at=base),
            f.waiting(
                reception, reason="pregnant", arrived_at=base + datetime.timedelta(minutes=1)
            ),
        ]
        f.waiting(reception, arrived_at=base + datetime.timedelta(minutes=2))  # R002
        f.waiting(triage, arrived_at=base + datetime.timedelta(minutes=3))  # T002
    holding, release = threading.Event(), threading.Event()

    def other_desk_holds() -> None:
        try:
            connection.set_tenant(clinic_a)
            with transaction.atomic():
                list(Ticket.objects.select_for_update().filter(pk__in=[t.pk for t in held]))
                holding.set()
                release.wait(timeout=60)
        finally:
            connections.close_all()

    other = threading.Thread(target=other_desk_holds)
    other.start()
    try:
        assert holding.wait(timeout=60)
        with clinic_a:
            called = ticket_call_next(desk_id=desk.pk)
    finally:
        release.set()
        other.join(timeout=60)
        _queue_clean(clinic_a)
    assert called.display_code == "R002"


def _waiting_in_bulk(services: list[Service], *, per_service: int) -> None:
    """`per_service` waiting tickets today in each service, mixed tiers, written in one INSERT."""
    patient = f.patient()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Ticket._meta.db_table}
                (service_id, service_day, number, display_code, patient_id, priority_tier,
                 priority_reason, status, arrived_at, rank_at, issued_at, recall_count,
                 cancel_reason)
            SELECT s.id, %(day)s, g, s.prefix || g, %(patient)s,
                   CASE WHEN g %% 10 = 0 THEN 1 ELSE 3 END,
                   CASE WHEN g %% 10 = 0 THEN 'pregnant' ELSE '' END, 'waiting',
                   now() - g * interval '1 second', now() - g * interval '1 second',
                   now() - g * interval '1 second', 0, ''
            FROM {Service._meta.db_table} s, generate_series(1, %(n)s) AS g
            WHERE s.id = ANY(%(services)s)
            """,
            {
                "day": service_day_today(),
                "patient": patient.pk,
                "n": per_service,
                "services": [s.pk for s in services],
            },
        )
        cursor.execute(f"ANALYZE {Ticket._meta.db_table}")


def _plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


@pytest.mark.django_db
def test_a_desk_of_three_services_walks_the_call_order_index_instead_of_sorting_the_queue(
    clinic_a,
):
    with clinic_a:
        services = [f.reception(), f.service("Triagem", "T"), f.service("Consulta", "C")]
        desk = f.desk("Guichê 1", *services)
        _waiting_in_bulk(services, per_service=2_000)
        statements = []

        def capture(execute, sql, params, many, context):
            statements.append((sql, params))
            return execute(sql, params, many, context)

        with transaction.atomic():
            with connection.execute_wrapper(capture):
                ticket_call_next(desk_id=desk.pk)
            transaction.set_rollback(True)
        (pick,) = [(sql, params) for sql, params in statements if "SKIP LOCKED" in sql]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {pick[0]}", pick[1])
            plan = cursor.fetchone()[0][0]["Plan"]
    nodes = list(_plan_nodes(plan))
    sorts = [n for n in nodes if n["Node Type"] in ("Sort", "Incremental Sort")]
    # Rows each sort was fed per run: the services' heads, never the 6,000 waiting tickets.
    sorted_per_run = [
        sum(c["Actual Rows"] * c["Actual Loops"] for c in n["Plans"]) / n["Actual Loops"]
        for n in sorts
        if n["Actual Loops"]
    ]
    ticket_scans = [
        n
        for n in nodes
        if n.get("Relation Name") == Ticket._meta.db_table and n["Node Type"].endswith("Scan")
    ]
    assert any(n.get("Index Name") == "ticket_waiting_call_order" for n in ticket_scans)
    assert {n["Node Type"] for n in ticket_scans} <= {"Index Scan", "Index Only Scan"}
    assert max(sorted_per_run, default=0) <= len(services)
