"""The daily reset: finished days close, open tickets expire with their history kept, summaries."""

import datetime

import pytest
import time_machine
from django.db import connection

from patients.models import Patient
from queueing.models import Service, Ticket, TicketEvent, TicketEventKind, TicketStatus
from queueing.services.tickets import ticket_issue
from tenants.models import ClinicDaySummary
from tenants.services import clinic_days_close
from tenants.tasks import clinic_day_close_task

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
# Manaus (clinic_b) is UTC-4 all year: local midnight of 2 March 2026 is 04:00 UTC.
MAR_2_MANAUS_11H = datetime.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
MAR_3_MANAUS_MIDNIGHT = datetime.datetime(2026, 3, 3, 4, 0, 5, tzinfo=UTC)


def _patient(cpf: str = "52998224725") -> Patient:
    return Patient.objects.get_or_create(cpf=cpf, defaults={"full_name": "Ana Souza"})[0]


def _issue(at: datetime.datetime, **progress) -> Ticket:
    """A ticket issued at `at`, then moved along (status and timestamps) as the desks would."""
    with time_machine.travel(at, tick=False):
        ticket = ticket_issue(patient=_patient(), service=Service.objects.get(is_default=True))
    if progress:
        Ticket.objects.filter(pk=ticket.pk).update(**progress)
        ticket.refresh_from_db()
    return ticket


def _minutes(at: datetime.datetime, minutes: float) -> datetime.datetime:
    return at + datetime.timedelta(minutes=minutes)


def test_open_tickets_of_a_finished_day_expire_and_keep_their_history(clinic_b):
    t0 = MAR_2_MANAUS_11H
    with clinic_b:
        waiting = _issue(t0)
        called = _issue(t0, status=TicketStatus.CALLED, called_at=_minutes(t0, 10))
        done = _issue(
            t0,
            status=TicketStatus.DONE,
            called_at=_minutes(t0, 20),
            started_at=_minutes(t0, 21),
            finished_at=_minutes(t0, 31),
        )

    with time_machine.travel(MAR_3_MANAUS_MIDNIGHT, tick=False):
        summaries = clinic_days_close(clinic=clinic_b)

    with clinic_b:
        statuses = {t.pk: t.status for t in Ticket.objects.all()}  # kept, never deleted
        waiting_history = list(
            TicketEvent.objects.filter(ticket=waiting).values_list("kind", "to_status")
        )
        expired_from = dict(
            TicketEvent.objects.filter(kind=TicketEventKind.EXPIRED).values_list(
                "ticket_id", "from_status"
            )
        )
    assert statuses == {waiting.pk: "expired", called.pk: "expired", done.pk: "done"}
    assert waiting_history == [("issued", "waiting"), ("expired", "expired")]
    assert expired_from == {waiting.pk: "waiting", called.pk: "called"}

    [summary] = summaries
    stored = ClinicDaySummary.objects.get(clinic=clinic_b)
    assert stored.service_day == datetime.date(2026, 3, 2)
    assert (stored.tickets, stored.served, stored.expired, stored.no_shows) == (3, 1, 2, 0)
    assert stored.wait_avg_s == 900.0  # called after 10 and 20 minutes
    assert stored.service_avg_s == 600.0
    assert stored.within_target_share == 1.0  # both within the default 30-minute target
    assert [s["prefix"] for s in stored.by_service] == ["R"]
    assert stored.by_service[0]["tickets"] == 3
    assert summary.pk == stored.pk


def test_a_second_reset_changes_nothing(clinic_b):
    with clinic_b:
        _issue(MAR_2_MANAUS_11H)
    with time_machine.travel(MAR_3_MANAUS_MIDNIGHT, tick=False):
        first = clinic_days_close(clinic=clinic_b)
    before = list(ClinicDaySummary.objects.filter(clinic=clinic_b).values())
    with clinic_b:
        events_before = TicketEvent.objects.count()

    with time_machine.travel(MAR_3_MANAUS_MIDNIGHT + datetime.timedelta(hours=1), tick=False):
        second = clinic_days_close(clinic=clinic_b)

    with clinic_b:
        events_after = TicketEvent.objects.count()
    assert len(first) == 1
    assert second == []
    assert list(ClinicDaySummary.objects.filter(clinic=clinic_b).values()) == before
    assert events_after == events_before


def test_three_missed_days_are_each_closed_and_summarised_once(clinic_b):
    days = [MAR_2_MANAUS_11H + datetime.timedelta(days=n) for n in range(3)]
    with clinic_b:
        for n, at in enumerate(days):
            for _ in range(n + 1):  # 1, 2 and 3 tickets
                _issue(at)
        today = _issue(MAR_2_MANAUS_11H + datetime.timedelta(days=3))

    # Beat and workers were down from the 2nd to the 5th; the first reset runs at 05:00 local.
    with time_machine.travel(datetime.datetime(2026, 3, 5, 9, 0, tzinfo=UTC), tick=False):
        closed = clinic_days_close(clinic=clinic_b)
        again = clinic_days_close(clinic=clinic_b)

    summaries = ClinicDaySummary.objects.filter(clinic=clinic_b).order_by("service_day")
    assert [(s.service_day.day, s.tickets, s.expired) for s in summaries] == [
        (2, 1, 1),
        (3, 2, 2),
        (4, 3, 3),
    ]
    assert [f.service_day.day for f in closed] == [2, 3, 4]
    assert again == []
    with clinic_b:
        expired_events = TicketEvent.objects.filter(kind=TicketEventKind.EXPIRED)
        assert expired_events.count() == 6  # one per expired ticket, none twice
        today.refresh_from_db()
    assert today.status == TicketStatus.WAITING  # today's queue is untouched


def test_the_day_closes_at_the_clinics_midnight_not_at_utc_midnight(clinic_b):
    with clinic_b:
        ticket = _issue(MAR_2_MANAUS_11H)
    # 03:30 UTC on the 3rd is still 23:30 on the 2nd in Manaus: the day is not over there.
    with time_machine.travel(datetime.datetime(2026, 3, 3, 3, 30, tzinfo=UTC), tick=False):
        early = clinic_days_close(clinic=clinic_b)
    with clinic_b:
        ticket.refresh_from_db()
    assert early == []
    assert ticket.status == TicketStatus.WAITING

    with time_machine.travel(MAR_3_MANAUS_MIDNIGHT, tick=False):
        on_time = clinic_days_close(clinic=clinic_b)
    assert [f.service_day for f in on_time] == [datetime.date(2026, 3, 2)]


def test_a_day_whose_tickets_were_all_finished_is_still_summarised(clinic_b):
    t0 = MAR_2_MANAUS_11H
    with clinic_b:
        _issue(t0, status=TicketStatus.NO_SHOW, called_at=_minutes(t0, 45))
        _issue(t0, status=TicketStatus.CANCELLED)
    with time_machine.travel(MAR_3_MANAUS_MIDNIGHT, tick=False):
        clinic_days_close(clinic=clinic_b)
    summary = ClinicDaySummary.objects.get(clinic=clinic_b)
    assert (summary.tickets, summary.no_shows, summary.cancelled, summary.expired) == (2, 1, 1, 0)
    assert summary.within_target_share == 0.0  # called after 45 minutes, target 30


def test_the_reset_task_runs_in_the_schema_named_by_its_header(clinic_b):
    with clinic_b:
        ticket = _issue(MAR_2_MANAUS_11H)
    connection.set_schema_to_public()

    with time_machine.travel(MAR_3_MANAUS_MIDNIGHT, tick=False):
        result = clinic_day_close_task.apply(headers={"_schema_name": clinic_b.schema_name})

    assert result.get() == 1
    with clinic_b:
        ticket.refresh_from_db()
    assert ticket.status == TicketStatus.EXPIRED
    assert ClinicDaySummary.objects.filter(clinic=clinic_b).count() == 1


def test_a_closed_days_summary_keeps_each_desks_break_time(clinic_b):
    from queueing.services.desk_breaks import desk_break_end, desk_break_start
    from queueing.services.setup import desk_create

    with clinic_b:
        _issue(MAR_2_MANAUS_11H)
        desk = desk_create(name="Guichê 1", service_ids=[Service.objects.get(is_default=True).pk])
        with time_machine.travel(_minutes(MAR_2_MANAUS_11H, 60), tick=False):
            desk_break_start(desk_id=desk.pk, reason="lunch")
        with time_machine.travel(_minutes(MAR_2_MANAUS_11H, 105), tick=False):
            desk_break_end(desk_id=desk.pk)

    with time_machine.travel(MAR_3_MANAUS_MIDNIGHT, tick=False):
        clinic_days_close(clinic=clinic_b)

    summary = ClinicDaySummary.objects.get(clinic=clinic_b, service_day=datetime.date(2026, 3, 2))
    assert summary.break_s == 2700.0
    assert summary.by_desk == [{"desk_id": desk.pk, "desk": "Guichê 1", "break_s": 2700.0}]
