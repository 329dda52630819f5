"""One `SET search_path` per request or task (TENANT_LIMIT_SET_CALLS), and never a stale one.

PostgreSQL undoes a SET when the transaction or savepoint that issued it rolls back. If the
connection still believed the path was set, the next query would run in whichever clinic's
schema was set before: another clinic's data. These tests roll back right after the SET and
check that the next query reads the right clinic.
"""

import datetime

import pytest
from django.db import connection, transaction

from patients.models import Patient


class Boom(Exception):
    pass


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
def test_after_a_savepoint_rollback_queries_stay_in_the_clinic(clinic_a, clinic_b):
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
def test_after_a_transaction_rollback_queries_stay_in_the_clinic(clinic_a, clinic_b):
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
def test_the_path_is_sent_only_when_it_changes(clinic_a, clinic_b, path_sets):
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
