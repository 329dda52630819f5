"""The check-in sweeper finds pending check-ins of every clinic through one public index.

A trigger writes the index row in the check-in's own transaction, so no check-in can be pending
without it; a sweep's statements stay the same however many clinics there are.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmarks._scale_sweep import sweep_statements
from queueing.models import CheckIn
from queueing.selectors.checkins import checkins_due_for_republish
from queueing.services.checkins import checkin_create, checkin_process
from tenants.models import Chain, Clinic
from tenants.services import clinic_provision
from tenants.sweeper import checkins_sweep
from tests.checkin_factories import cpf_from_number

pytestmark = pytest.mark.django_db

REGISTRATION = {"full_name": "Maria da Silva", "birth_date": "1990-03-14"}
NOW = datetime.timedelta(0)


@pytest.fixture(autouse=True)
def _index_empty(db):
    """Only this test's check-ins in the index (rows other tests committed are left alone)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM public.queueing_checkin_pending")


def _indexed() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schema_name, checkin_id::text FROM public.queueing_checkin_pending ORDER BY 1"
        )
        return cursor.fetchall()


def _pending_in(clinic, number: int, *, stale: bool = False) -> CheckIn:
    with clinic:
        checkin, _ = checkin_create(cpf=cpf_from_number(number), registration=REGISTRATION)
        if stale:
            hour_ago = timezone.now() - datetime.timedelta(hours=1)
            CheckIn.objects.filter(pk=checkin.pk).update(
                created_at=hour_ago, last_published_at=hour_ago
            )
    return checkin


def test_a_check_in_is_indexed_while_pending_and_leaves_the_index_once_processed(clinic_a):
    checkin = _pending_in(clinic_a, 1)
    assert _indexed() == [("clinic_a", str(checkin.pk))]
    with clinic_a:
        checkin_process(checkin_id=checkin.pk)
    assert _indexed() == []


def test_one_query_finds_the_due_check_ins_of_every_clinic(clinic_a, clinic_b, clinic_c):
    in_a, in_c = _pending_in(clinic_a, 1), _pending_in(clinic_c, 2)
    with CaptureQueriesContext(connection) as captured:
        due = checkins_due_for_republish(
            among=Clinic.objects.values_list("schema_name", flat=True),
            older_than=NOW,
            now=timezone.now(),
        )
    assert due == {"clinic_a": [in_a.pk], "clinic_c": [in_c.pk]}
    assert len(captured.captured_queries) == 1


def test_a_republished_check_in_waits_longer_before_the_next_republish(clinic_a):
    checkin = _pending_in(clinic_a, 1, stale=True)
    assert checkins_sweep() == {"clinic_a": 1}
    assert checkins_sweep() == {}  # published just now: not due again yet
    with clinic_a:
        assert CheckIn.objects.get(pk=checkin.pk).publish_count == 2


def test_an_inactive_clinics_check_ins_are_left_alone_and_never_crowd_out_the_others(
    clinic_a, clinic_b
):
    _pending_in(clinic_b, 1, stale=True)  # the oldest, at a clinic about to close
    in_a = _pending_in(clinic_a, 2)
    Clinic.objects.filter(pk=clinic_b.pk).update(is_active=False)
    active = Clinic.objects.filter(is_active=True).values_list("schema_name", flat=True)
    due = checkins_due_for_republish(among=active, older_than=NOW, now=timezone.now(), limit=1)
    assert due == {"clinic_a": [in_a.pk]}
    assert checkins_sweep(older_than=NOW) == {"clinic_a": 1}


def test_a_sweep_issues_as_many_statements_at_thirteen_clinics_as_at_three(clinic_a):
    clinics = Clinic.objects.exclude(schema_name__in=["public", "clinic_template"]).count()
    nothing_due = sweep_statements(clinics=clinics)
    _pending_in(clinic_a, 1, stale=True)
    few = sweep_statements(clinics=clinics)
    chain = Chain.objects.get(slug="rede_sol")
    for n in range(10):
        clinic_provision(chain=chain, name=f"Extra {n}", slug=f"extra_{n}", timezone="UTC")
    many = sweep_statements(clinics=clinics + 10)
    # one index query; then the clinics with due work, their pending rows and the publish
    assert (nothing_due, few, many) == (1, 4, 4)


def test_a_new_clinics_check_ins_reach_the_index(clinic_a):
    chain = Chain.objects.get(slug="rede_sol")
    fresh = clinic_provision(chain=chain, name="Nova", slug="nova", timezone="UTC")
    checkin = _pending_in(fresh, 1)
    assert _indexed() == [("nova", str(checkin.pk))]
