"""The clinic's event stream: what reaches it, in which order, who is told, and who can find it."""

import datetime
import select
import threading
import time

import psycopg2
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from events.models import EVENTS_CHANNEL, Event
from events.selectors import clinics_with_events_since, event_last_id, event_list_after
from events.services import event_record
from queueing.models import Service
from queueing.services import workflow
from queueing.services.checkins import checkin_create, checkin_process
from queueing.services.day_close import days_close
from queueing.services.retention import retention_apply
from tests.database import database_url
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

CPF = "52998224725"
REGISTRATION = {"full_name": "Maria da Silva", "birth_date": datetime.date(1990, 3, 14)}


def _listener():
    """A second connection listening on the stream's channel, as the events process does."""
    listener = psycopg2.connect(database_url())
    listener.autocommit = True
    listener.cursor().execute(f"LISTEN {EVENTS_CHANNEL}")
    return listener


def _notifications(listener, wait: float = 1.0) -> list[str]:
    """The payloads received within `wait` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        select.select([listener], [], [], max(deadline - time.monotonic(), 0))
        listener.poll()
    payloads = [note.payload for note in listener.notifies if note.channel == EVENTS_CHANNEL]
    listener.notifies.clear()
    return payloads


def test_each_ticket_change_reaches_the_stream_with_its_code_status_and_desk(clinic_a):
    with clinic_a:
        start = event_last_id()
        svc = f.reception()
        desk = f.desk("Guichê 2", svc)
        ticket = f.waiting(svc)
        workflow.ticket_call_next(desk_id=desk.pk)
        workflow.ticket_recall(ticket_id=ticket.pk)
        workflow.ticket_start(ticket_id=ticket.pk)
        workflow.ticket_finish(ticket_id=ticket.pk)
        events = event_list_after(after_id=start, limit=100)
    assert [event.kind for event in events] == [
        "ticket.issued",
        "ticket.called",
        "ticket.recalled",
        "ticket.started",
        "ticket.finished",
    ]
    called = events[1]
    assert (called.ticket_id, called.service_id, called.desk_id) == (ticket.pk, svc.pk, desk.pk)
    assert called.data == {
        "display_code": ticket.display_code,
        "status": "called",
        "from_status": "waiting",
        "service_id": svc.pk,
        "desk_id": desk.pk,
        "desk": "Guichê 2",
        "service_day": ticket.service_day.isoformat(),
    }
    assert events[2].data["recall_count"] == 1
    assert [event.id for event in events] == sorted(event.id for event in events)


def test_the_stream_holds_no_name_cpf_or_cancel_reason(clinic_a):
    with clinic_a:
        start = event_last_id()
        svc = f.reception()
        ticket = f.waiting(svc)
        workflow.ticket_cancel(ticket_id=ticket.pk, reason="Ana Souza foi embora")
        text = str([(e.kind, e.data) for e in event_list_after(after_id=start, limit=10)])
    assert "ticket.cancelled" in text
    assert "Ana" not in text
    assert ticket.patient.cpf not in text


def test_a_transfer_is_two_events_the_new_ticket_naming_the_old(clinic_a):
    with clinic_a:
        start = event_last_id()
        reception = f.reception()
        triage = f.service("Triagem", "T")
        ticket = f.waiting(reception)
        new = workflow.ticket_transfer(ticket_id=ticket.pk, service_id=triage.pk)
        events = event_list_after(after_id=start, limit=10, kinds=["ticket.transferred"])
        issued = event_list_after(after_id=start, limit=10, ticket_id=new.pk)
    assert [(e.ticket_id, e.data["status"]) for e in events] == [(ticket.pk, "transferred")]
    assert [(e.kind, e.service_id, e.data["transferred_from"]) for e in issued] == [
        ("ticket.issued", triage.pk, ticket.display_code)
    ]


def test_processing_a_check_in_streams_checkin_queued_with_its_ticket(clinic_a):
    with clinic_a:
        start = event_last_id()
        checkin, _ = checkin_create(cpf=CPF, registration=REGISTRATION)
        processed = checkin_process(checkin_id=checkin.pk)
        events = event_list_after(after_id=start, limit=10)
    # One statement issues the ticket and marks the check-in: its two events, in either order.
    assert sorted(e.kind for e in events) == ["checkin.queued", "ticket.issued"]
    queued = next(e for e in events if e.kind == "checkin.queued")
    assert queued.ticket_id == processed.ticket_id
    assert queued.data["checkin_id"] == str(checkin.pk)
    assert queued.data["display_code"] == processed.ticket.display_code
    assert "Maria" not in str(queued.data) and CPF not in str(queued.data)


def test_a_failed_check_in_streams_checkin_failed_with_the_reason(clinic_a):
    with clinic_a:
        start = event_last_id()
        checkin, _ = checkin_create(cpf=CPF, registration=REGISTRATION)
        Service.objects.filter(pk=checkin.service_id).update(is_active=False)
        checkin_process(checkin_id=checkin.pk)
        events = event_list_after(after_id=start, limit=10)
    assert [e.kind for e in events] == ["checkin.failed"]
    assert "deactivated" in events[0].data["reason"]


def test_closing_a_day_streams_day_closed_with_its_figures_and_the_expiries(clinic_b):
    issued_at = timezone.now() - datetime.timedelta(days=2)
    with clinic_b:
        start = event_last_id()
        with time_machine.travel(issued_at, tick=False):
            f.waiting(f.reception())
        days_close()
        events = event_list_after(after_id=start, limit=10)
    kinds = [e.kind for e in events]
    assert kinds[0] == "ticket.issued" and "ticket.expired" in kinds
    closed = [e for e in events if e.kind == "day.closed"]
    assert len(closed) == 1
    assert closed[0].data["tickets"] == 1 and closed[0].data["expired"] == 1


def test_event_record_writes_an_event_and_returns_its_id(clinic_a):
    with clinic_a:
        event_id = event_record(kind="appointment.arrived", ticket_id=7, data={"code": "A1"})
        event = Event.objects.get(pk=event_id)
        newest = event_last_id()
    assert (event.kind, event.ticket_id, event.data) == ("appointment.arrived", 7, {"code": "A1"})
    assert newest == event_id


def test_events_past_the_retention_are_purged_with_the_others(clinic_a, settings):
    settings.CLINICO_EVENT_RETENTION_DAYS = 30
    with clinic_a:
        old = event_record(
            kind="probe.old", at=timezone.now() - datetime.timedelta(days=31), data={}
        )
        new = event_record(kind="probe.new", data={})
        retention_apply()
        left = set(Event.objects.filter(pk__in=[old, new]).values_list("pk", flat=True))
    assert left == {new}


def test_the_public_index_finds_the_clinic_with_new_events_and_not_the_quiet_one(
    clinic_a, clinic_c
):
    since = timezone.now()
    with clinic_a:
        newest = event_record(kind="probe.index", data={})
    found = {row.schema_name: row.last_event_id for row in clinics_with_events_since(since=since)}
    assert found.get("clinic_a") == newest
    assert "clinic_c" not in found or found["clinic_c"] < newest  # only clinic_a just wrote


def test_a_cloned_clinic_has_the_streams_table_functions_and_triggers(clinic_a):
    def triggers(schema: str) -> list[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND NOT t.tgisinternal ORDER BY 1, 2",
                [schema],
            )
            return cursor.fetchall()

    cloned = triggers("clinic_a")
    assert cloned == triggers("clinic_template")
    assert ("events_event", "events_event_announce") in cloned
    assert ("queueing_ticketevent", "queueing_ticketevent_to_stream") in cloned
    assert ("queueing_checkin", "queueing_checkin_to_stream") in cloned


@pytest.mark.django_db(transaction=True)
def test_listeners_are_told_on_commit_and_never_of_a_rollback(clinic_a):
    listener = _listener()
    try:
        with clinic_a:
            from django.db import transaction

            with transaction.atomic():
                event_id = event_record(kind="probe.commit", data={})
                before_commit = _notifications(listener, wait=0.3)
            after_commit = _notifications(listener)
            try:
                with transaction.atomic():
                    event_record(kind="probe.rollback", data={})
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            after_rollback = _notifications(listener, wait=0.5)
    finally:
        listener.close()
    assert before_commit == []
    assert after_commit == [f"clinic_a {event_id}"]
    assert after_rollback == []


@pytest.mark.django_db(transaction=True)
def test_ids_follow_commit_order_so_a_reader_after_n_never_misses_a_later_commit(clinic_a):
    """A transaction that wrote an event first and commits last must not get the lower id."""
    first = psycopg2.connect(database_url())
    second = psycopg2.connect(database_url())
    try:
        for conn in (first, second):
            conn.cursor().execute("SET search_path TO clinic_a, public")
        slow = first.cursor()
        slow.execute(
            "INSERT INTO events_event (kind, at, data) VALUES ('probe.slow', now(), '{}') "
            "RETURNING id"
        )
        slow_id = slow.fetchone()[0]
        fast_id: list[int] = []

        def write_and_commit():
            cursor = second.cursor()
            cursor.execute(
                "INSERT INTO events_event (kind, at, data) VALUES ('probe.fast', now(), '{}') "
                "RETURNING id"
            )
            fast_id.append(cursor.fetchone()[0])
            second.commit()

        writer = threading.Thread(target=write_and_commit)
        writer.start()
        writer.join(timeout=0.5)
        waited = writer.is_alive()  # the second clinic writer waits for the first's commit
        first.commit()
        writer.join(timeout=5)
    finally:
        first.close()
        second.close()
    assert waited
    assert fast_id and fast_id[0] > slow_id


@pytest.mark.django_db(transaction=True)
def test_writers_of_different_clinics_never_wait_for_each_other(clinic_a, clinic_b):
    first = psycopg2.connect(database_url())
    second = psycopg2.connect(database_url())
    try:
        first.cursor().execute("SET search_path TO clinic_a, public")
        second.cursor().execute("SET search_path TO clinic_b, public")
        first.cursor().execute(
            "INSERT INTO events_event (kind, at, data) VALUES ('probe.a', now(), '{}')"
        )
        second.cursor().execute("SET statement_timeout = '2s'")
        second.cursor().execute(
            "INSERT INTO events_event (kind, at, data) VALUES ('probe.b', now(), '{}')"
        )
        second.commit()
        first.commit()
    finally:
        first.close()
        second.close()
