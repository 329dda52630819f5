"""The queue's hot paths run in a fixed, small number of statements, whatever the queue holds.

Call next, each ticket action and check-in processing run for every patient at every desk; a
change that adds a round trip to them slows every clinic down.
"""

import datetime
import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from queueing.services import workflow
from queueing.services.checkins import checkin_create, checkin_process
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

CPF = "52998224725"


def _statements(run) -> list[str]:
    """The SQL statements `run()` sent, without the transaction's savepoints."""
    with CaptureQueriesContext(connection) as captured:
        run()
    statements = [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    dump = os.environ.get("CLINICO_DUMP_STATEMENTS")
    if dump:
        with open(dump, "a") as out:
            out.write("\n-- next path --\n" + "\n;\n".join(statements) + "\n")
    return statements


def test_call_next_is_two_statements_and_each_action_one(clinic_a):
    with clinic_a:
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        first, second = f.waiting(svc), f.waiting(svc)
        calls = [
            _statements(lambda: workflow.ticket_call_next(desk_id=desk.pk)),
            _statements(lambda: workflow.ticket_recall(ticket_id=first.pk)),
            _statements(lambda: workflow.ticket_start(ticket_id=first.pk)),
            _statements(lambda: workflow.ticket_finish(ticket_id=first.pk)),
            _statements(lambda: workflow.ticket_call_next(desk_id=desk.pk)),
            _statements(lambda: workflow.ticket_requeue(ticket_id=second.pk)),
            _statements(lambda: workflow.ticket_cancel(ticket_id=second.pk, reason="Left")),
        ]
    assert [len(statements) for statements in calls] == [2, 1, 1, 1, 2, 1, 1]


def test_processing_a_check_in_is_five_statements_with_its_trail_entry_and_a_new_patient_one_more(
    clinic_a,
):
    with clinic_a:
        new, _ = checkin_create(
            cpf=CPF, registration={"full_name": "Maria da Silva", "birth_date": "1990-03-14"}
        )
        statements = _statements(lambda: checkin_process(checkin_id=new.pk))
        known, _ = checkin_create(cpf=CPF)
        again = _statements(lambda: checkin_process(checkin_id=known.pk))
    # Four of its own, and the arrival hook's look-up of a booking (appointments); the new
    # patient's INSERT is one more.
    assert (len(statements), len(again)) == (6, 5)


@pytest.mark.django_db(transaction=True)
def test_the_clinics_schema_travels_inside_call_nexts_first_statement_not_in_one_more(clinic_a):
    """Safe behind a transaction pooler at no cost: the SET LOCAL rides the first message."""
    sent: list[str] = []

    def spy(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with clinic_a:
        svc = f.reception()
        desk = f.desk("Guichê 1", svc)
        f.waiting(svc)
        with connection.execute_wrapper(spy):
            workflow.ticket_call_next(desk_id=desk.pk)
    connection.set_schema_to_public()
    assert len(sent) == 2
    assert sent[0].startswith('SET LOCAL search_path = "clinic_a","public"; ')
    assert not sent[1].startswith("SET")


def test_a_check_in_for_a_booking_adds_two_statements_to_link_it_and_say_so(clinic_a):
    from appointments.services import appointment_create

    with clinic_a:
        appointment_create(
            cpf=CPF,
            registration={"full_name": "Maria da Silva", "birth_date": "1990-03-14"},
            service_id=f.reception().pk,
            scheduled_at=timezone.now() + datetime.timedelta(minutes=10),
        )
        booked, _ = checkin_create(cpf=CPF)
        statements = _statements(lambda: checkin_process(checkin_id=booked.pk))
    # The five of a known patient, the booking's link and its appointment.arrived event.
    assert len(statements) == 7
