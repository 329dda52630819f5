"""migrate_clinics at scale: clinics already migrated are skipped without introspection, pending
ones are migrated in parallel, and one clinic's failure leaves the others migrated."""

import psycopg2
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_celery_beat.models import PeriodicTask

from benchmarks._probe_migration import (
    PROBE_APP,
    PROBE_COLUMN,
    PROBE_INDEX,
    PROBE_NAME,
    probe_migration,
    probe_migration_undo,
)
from tenants.models import Chain, Clinic
from tenants.schedules import reset_periodic_task_name
from tenants.schema import template_schema_name
from tenants.schema_migrations import migration_graph_nodes, schemas_pending
from tenants.services import chain_create, clinic_provision
from tests.database import database_url

OWN_CLINICS = ("mig_one", "mig_two", "mig_three")


def _recorded(schema: str, app: str, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT count(*) FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
            [app, name],
        )
        return cursor.fetchone()[0] == 1


def _has_probe_column_and_index(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
            [schema, PROBE_INDEX],
        )
        indexed = cursor.fetchone()[0] == 1
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'queueing_service' AND column_name = %s",
            [schema, PROBE_COLUMN],
        )
        return indexed and cursor.fetchone()[0] == 1


@pytest.fixture
def own_clinics(django_db_setup, django_db_blocker):
    """Three clinics of this module's own, committed (the migrating processes must see them)."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        chain = Chain.objects.filter(slug="rede_mig").first() or chain_create(
            name="Rede Migração", slug="rede_mig"
        )
        clinics = []
        for slug in OWN_CLINICS:
            Clinic.objects.filter(schema_name=slug).first() or clinic_provision(
                chain=chain, name=f"Clínica {slug}", slug=slug, timezone="America/Sao_Paulo"
            )
            clinics.append(slug)
        yield clinics
        connection.set_schema_to_public()
        for clinic in Clinic.objects.filter(schema_name__in=OWN_CLINICS):
            PeriodicTask.objects.filter(
                name=reset_periodic_task_name(schema_name=clinic.schema_name)
            ).delete()
            clinic.delete(force_drop=True)
        chain.delete()


@pytest.mark.django_db
def test_clinics_at_the_latest_migration_are_not_pending(clinic_a, clinic_b, clinic_c):
    schemas = ["public", template_schema_name(), "clinic_a", "clinic_b", "clinic_c"]
    assert schemas_pending(schemas=schemas) == []


@pytest.mark.django_db
def test_a_clinic_missing_one_migration_record_or_the_table_is_pending(clinic_a, clinic_b):
    last = migration_graph_nodes()[-1].split(".", 1)
    with connection.cursor() as cursor:
        cursor.execute(
            'DELETE FROM "clinic_b".django_migrations WHERE app = %s AND name = %s', last
        )
        cursor.execute('CREATE SCHEMA "mig_empty"')
    assert schemas_pending(schemas=["clinic_a", "clinic_b", "mig_empty"]) == [
        "clinic_b",
        "mig_empty",
    ]


def test_pending_clinics_are_found_by_batches_on_parallel_connections(own_clinics, monkeypatch):
    import tenants.schema_migrations

    monkeypatch.setattr(tenants.schema_migrations, "PENDING_BATCH", 1)
    app, name = migration_graph_nodes()[-1].split(".", 1)
    with connection.cursor() as cursor:
        cursor.execute(
            'DELETE FROM "mig_two".django_migrations WHERE app = %s AND name = %s '
            "RETURNING applied",
            [app, name],
        )
        applied = cursor.fetchone()[0]
    try:
        assert schemas_pending(schemas=own_clinics, jobs=3) == ["mig_two"]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                'INSERT INTO "mig_two".django_migrations (app, name, applied) VALUES (%s, %s, %s)',
                [app, name, applied],
            )
    assert schemas_pending(schemas=own_clinics, jobs=3) == []


@pytest.mark.django_db
def test_with_nothing_pending_migrate_clinics_migrates_no_clinic(clinic_a, capsys):
    call_command("migrate_clinics", jobs=2, verbosity=1)
    out = capsys.readouterr().out
    assert "Pending: public no, template no, 0 of" in out
    assert "0 clinics migrated" in out


def test_check_reports_pending_migrations_with_a_failing_exit(own_clinics, tmp_path):
    with probe_migration(folder=tmp_path), pytest.raises(CommandError) as exc:
        call_command("migrate_clinics", check=True, verbosity=0)
    assert exc.value.returncode == 1
    assert schemas_pending(schemas=own_clinics) == []


@pytest.mark.timeout(900)  # three migrate_clinics runs; minutes on a loaded machine
def test_failing_clinics_are_reported_the_others_migrate_and_a_rerun_resumes(
    clinic_a, own_clinics, tmp_path, capsys
):
    everywhere = [
        "public",
        template_schema_name(),
        *Clinic.objects.values_list("schema_name", flat=True),
    ]
    # mig_two already has a column of that name: the new migration fails there. mig_three is
    # read by a long transaction: with --lock-timeout its ALTER gives up instead of queueing.
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "mig_two".queueing_service ADD COLUMN {PROBE_COLUMN} text')
    reader = psycopg2.connect(database_url())
    try:
        with reader.cursor() as cursor:
            cursor.execute('SELECT count(*) FROM "mig_three".queueing_service')
        with probe_migration(folder=tmp_path):
            with pytest.raises(CommandError) as exc:
                call_command("migrate_clinics", jobs=2, lock_timeout=500, verbosity=1)
            assert "2 of " in str(exc.value)
            assert f'mig_two: ProgrammingError: column "{PROBE_COLUMN}"' in str(exc.value)
            assert "mig_three: OperationalError: canceling statement due to lock timeout" in str(
                exc.value
            )
            out = capsys.readouterr().out
            assert "clinics (100%)" in out and "2 failed" in out

            for schema in ("mig_one", template_schema_name(), "clinic_a"):
                assert _recorded(schema, PROBE_APP, PROBE_NAME), schema
                assert _has_probe_column_and_index(schema), schema
            assert not _recorded("mig_two", PROBE_APP, PROBE_NAME)
            assert not _has_probe_column_and_index("mig_three")
            assert sorted(schemas_pending(schemas=everywhere)) == ["mig_three", "mig_two"]

            # The causes gone, a second run migrates only what is still pending.
            reader.rollback()
            with connection.cursor() as cursor:
                cursor.execute(f'ALTER TABLE "mig_two".queueing_service DROP COLUMN {PROBE_COLUMN}')
            call_command("migrate_clinics", jobs=2, verbosity=1)
            out = capsys.readouterr().out
            assert ", 2 of " in out and "2 clinics migrated" in out
            assert _has_probe_column_and_index("mig_two")
            assert _has_probe_column_and_index("mig_three")
            assert schemas_pending(schemas=everywhere) == []

            # Clinics provisioned now are cloned from the migrated template.
            chain = Chain.objects.get(slug="rede_mig")
            clinic_provision(chain=chain, name="Nova", slug="mig_new", timezone="America/Sao_Paulo")
            assert _has_probe_column_and_index("mig_new")
    finally:
        reader.close()
        connection.set_schema_to_public()
        new = Clinic.objects.filter(schema_name="mig_new").first()
        if new is not None:
            PeriodicTask.objects.filter(
                name=reset_periodic_task_name(schema_name="mig_new")
            ).delete()
            new.delete(force_drop=True)
        probe_migration_undo(schemas=everywhere)
    assert schemas_pending(schemas=everywhere) == []
