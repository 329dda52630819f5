"""Every transaction carries its clinic's schema (SET LOCAL), and no path is ever a stale one.

Behind a transaction-mode pooler, consecutive transactions of one Django connection run on
different server connections, whose session path may be another clinic's: each transaction
must set its own. In both modes, PostgreSQL undoes a SET when the transaction or savepoint that
issued it rolls back; if the connection still believed the path was set, the next query would
run in whichever clinic's schema was set before: another clinic's data. These tests roll back
right after the SET and check that the next query reads the right clinic, and leave another
clinic's path on the session and check that it is never used.
"""

import datetime

import pytest
from django.db import connection, transaction

from patients.models import Patient


class Boom(Exception):
    pass


@pytest.fixture(params=["transaction", "session"])
def search_path_mode(request):
    """Each test run in both modes: SET LOCAL per transaction, and the session's SET."""
    was = connection.search_path_per_transaction
    connection.search_path_per_transaction = request.param == "transaction"
    yield request.param
    connection.search_path_per_transaction = was


@pytest.fixture
def session_mode():
    was = connection.search_path_per_transaction
    connection.search_path_per_transaction = False
    yield
    connection.search_path_per_transaction = was


@pytest.fixture
def sent():
    """The SQL text each statement reached the driver with."""
    statements: list[str] = []

    def spy(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        yield statements


def _leave_session_path_of(clinic) -> None:
    """What a pooler may hand over: a server session whose path is another clinic's."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute(f'SET search_path = "{clinic.schema_name}", public')


def _patient_in(clinic, name: str) -> None:
    with clinic:
        Patient.objects.create(
            cpf="52998224725", full_name=name, birth_date=datetime.date(1980, 1, 2)
        )


def _names_after_a_rollback_in(clinic) -> list[str]:
    with clinic:
        with pytest.raises(Boom), transaction.atomic():
            Patient.objects.count()  # the first query here issues the SET, inside the block
            raise Boom
        return list(Patient.objects.values_list("full_name", flat=True))


@pytest.mark.django_db
def test_after_a_savepoint_rollback_queries_stay_in_the_clinic(
    clinic_a, clinic_b, search_path_mode
):
    _patient_in(clinic_a, "Ana of clinic A")
    _patient_in(clinic_b, "Bia of clinic B")
    with clinic_a:
        assert Patient.objects.count() == 1  # clinic A's path is the session's
        with pytest.raises(Boom), transaction.atomic():  # the savepoint is taken under A's path
            connection.set_tenant(clinic_b)
            Patient.objects.count()  # B's SET, inside the savepoint
            raise Boom
        # The connection is on clinic B; PostgreSQL went back to A's path with the savepoint.
        assert list(Patient.objects.values_list("full_name", flat=True)) == ["Bia of clinic B"]


@pytest.mark.django_db(transaction=True)
def test_after_a_transaction_rollback_queries_stay_in_the_clinic(
    clinic_a, clinic_b, search_path_mode
):
    _patient_in(clinic_a, "Ana of clinic A")
    _patient_in(clinic_b, "Bia of clinic B")
    with clinic_a:
        assert Patient.objects.count() == 1
    assert _names_after_a_rollback_in(clinic_b) == ["Bia of clinic B"]
    connection.set_schema_to_public()


@pytest.fixture
def path_sets(monkeypatch):
    """Each `SET search_path` sent to PostgreSQL, as the list of schemas."""
    from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

    sent = []
    original = TenantDatabaseWrapper._handle_search_path

    def spy(self, cursor=None):
        if not self._setting_search_path and not self.search_path_set_schemas:
            sent.append(self._get_cursor_search_paths())
        return original(self, cursor)

    monkeypatch.setattr(TenantDatabaseWrapper, "_handle_search_path", spy)
    return sent


@pytest.mark.django_db(transaction=True)
def test_in_session_mode_the_path_is_sent_only_when_it_changes(
    clinic_a, clinic_b, path_sets, session_mode
):
    _patient_in(clinic_a, "Ana of clinic A")
    path_sets.clear()
    for clinic, expected in ((clinic_a, 1), (clinic_a, 1), (clinic_b, 0), (clinic_a, 1)):
        connection.set_schema_to_public()  # what each request starts with
        connection.set_tenant(clinic)
        assert Patient.objects.count() == expected
    assert path_sets == [
        [clinic_b.schema_name, "public"],
        [clinic_a.schema_name, "public"],
    ]
    connection.set_schema_to_public()


@pytest.mark.django_db(transaction=True)
def test_another_clinics_session_path_is_never_used_outside_or_inside_a_transaction(
    clinic_a, clinic_b
):
    _patient_in(clinic_a, "Ana of clinic A")
    _patient_in(clinic_b, "Bia of clinic B")
    with clinic_a:
        _leave_session_path_of(clinic_b)
        outside = list(Patient.objects.values_list("full_name", flat=True))
        with transaction.atomic():
            _leave_session_path_of(clinic_b)  # as if the transaction began on another server
            inside = list(Patient.objects.values_list("full_name", flat=True))
    assert (outside, inside) == (["Ana of clinic A"], ["Ana of clinic A"])
    connection.set_schema_to_public()


@pytest.mark.django_db(transaction=True)
def test_each_autocommit_statement_and_each_transaction_carries_its_own_path(
    clinic_a, clinic_b, sent
):
    local_a = 'SET LOCAL search_path = "clinic_a","public"; '
    local_b = 'SET LOCAL search_path = "clinic_b","public"; '
    with clinic_a:
        Patient.objects.count()
        Patient.objects.count()
        with transaction.atomic():
            Patient.objects.count()
            Patient.objects.count()
            with clinic_b:
                Patient.objects.count()
            Patient.objects.count()
    connection.set_schema_to_public()
    prefixes = [sql[: len(local_a)] if sql.startswith("SET LOCAL") else "" for sql in sent]
    # every autocommit statement; then the transaction's first, and each change of clinic
    assert prefixes == [local_a, local_a, local_a, "", local_b, local_a]
    assert len(sent) == 6  # in the same round trips: no statement of its own


@pytest.mark.django_db(transaction=True)
def test_no_session_path_is_left_behind_for_the_next_client(clinic_a):
    with clinic_a:
        Patient.objects.count()
        with transaction.atomic():
            Patient.objects.count()
    connection.set_schema_to_public()
    with connection.connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == '"$user", public'


@pytest.mark.django_db(transaction=True)
def test_a_server_side_cursor_reads_its_own_clinic_outside_and_inside_a_transaction(
    clinic_a, clinic_b
):
    _patient_in(clinic_a, "Ana of clinic A")
    _patient_in(clinic_b, "Bia of clinic B")
    with clinic_a:
        _leave_session_path_of(clinic_b)
        outside = [p.full_name for p in Patient.objects.iterator(chunk_size=10)]
        with transaction.atomic():
            _leave_session_path_of(clinic_b)
            inside = [p.full_name for p in Patient.objects.iterator(chunk_size=10)]
    assert (outside, inside) == (["Ana of clinic A"], ["Ana of clinic A"])
    connection.set_schema_to_public()


@pytest.mark.django_db(transaction=True)
def test_an_index_built_concurrently_lands_in_the_clinics_own_schema(clinic_a, clinic_b):
    with clinic_a, connection.cursor() as cursor:
        _leave_session_path_of(clinic_b)
        cursor.execute(
            "CREATE INDEX CONCURRENTLY patient_name_probe ON patients_patient (full_name)"
        )
        cursor.execute("SELECT schemaname FROM pg_indexes WHERE indexname = 'patient_name_probe'")
        schemas = [row[0] for row in cursor.fetchall()]
        cursor.execute("DROP INDEX CONCURRENTLY patient_name_probe")
    assert schemas == ["clinic_a"]
    connection.set_schema_to_public()
