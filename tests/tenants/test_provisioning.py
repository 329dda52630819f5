import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_celery_beat.models import PeriodicTask
from django_tenants.utils import schema_exists

from queueing.models import Panel, Service
from queueing.panel_access import panel_for_key
from tenants.models import Chain, Clinic, Domain
from tenants.services import chain_create, clinic_provision

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(db) -> Chain:
    return chain_create(name="Rede Teste", slug="rede_teste")


def _nothing_left(slug: str) -> bool:
    return (
        not schema_exists(slug)
        and not Clinic.objects.filter(schema_name=slug).exists()
        and not Domain.objects.filter(domain__startswith=f"{slug}.").exists()
        and not PeriodicTask.objects.filter(name__endswith=f":{slug}").exists()
    )


def test_provisioned_clinic_has_schema_domain_default_service_and_reset_schedule(chain):
    clinic = clinic_provision(
        chain=chain, name="Clínica Norte", slug="norte", timezone="America/Manaus"
    )

    assert schema_exists("norte")
    assert Domain.objects.get(tenant=clinic).domain == "norte.localhost"
    with clinic:
        service = Service.objects.get()
        assert (service.name, service.prefix, service.is_default) == ("Recepção", "R", True)
        # and its default panel, opened by the key made with the clinic, showing every desk
        panel = Panel.objects.get()
        assert panel.is_default and not panel.desks.exists() and not panel.services.exists()
        assert panel_for_key(key=clinic.panel_key) == panel
    reset = PeriodicTask.objects.get(name="daily-reset:norte")
    assert reset.crontab.timezone.key == "America/Manaus"
    assert reset.enabled


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("", "obrigatório"),
        ("Norte", "minúscula"),
        ("1norte", "minúscula"),
        ("nor-te", "minúscula"),
        ("a" * 64, "63"),
        ("public", "reservado"),
        ("pg_norte", "reservado"),
        ("clinic_template", "reservado"),
    ],
)
def test_invalid_slugs_are_refused_with_the_reason(chain, slug, reason):
    with pytest.raises(ValidationError) as exc:
        clinic_provision(chain=chain, name="X", slug=slug, timezone="America/Sao_Paulo")
    assert reason in " ".join(exc.value.message_dict["slug"])


def test_a_slug_with_a_trailing_newline_is_refused():
    from tenants.services import _validate_slug

    with pytest.raises(ValidationError) as exc:
        _validate_slug("abc\n")  # "$" matches before a final newline; the check is whole
    assert "minúscula" in " ".join(exc.value.message_dict["slug"])


def test_unknown_timezone_is_refused(chain):
    with pytest.raises(ValidationError) as exc:
        clinic_provision(chain=chain, name="X", slug="xis", timezone="America/Atlantis")
    assert "IANA" in exc.value.message_dict["timezone"][0]
    assert _nothing_left("xis")


def test_duplicate_slug_is_refused_case_insensitively(chain, clinic_a):
    with pytest.raises(ValidationError) as exc:
        clinic_provision(chain=chain, name="X", slug="clinic_a", timezone="America/Sao_Paulo")
    assert "Já existe" in exc.value.message_dict["slug"][0]


def test_failure_midway_leaves_no_schema_domain_or_schedule(chain, monkeypatch):
    import tenants.services

    def explode(*, clinic):
        assert schema_exists(clinic.schema_name)  # the schema did exist mid-way
        raise RuntimeError("schedule store unavailable")

    monkeypatch.setattr(tenants.services, "clinic_reset_schedule_sync", explode)
    with pytest.raises(RuntimeError):
        clinic_provision(chain=chain, name="Falha", slug="falha", timezone="America/Sao_Paulo")
    connection.set_schema_to_public()
    assert _nothing_left("falha")


def test_missing_template_is_an_error_not_a_silent_migration(chain, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.TENANT_BASE_SCHEMA = "no_such_template"
    with pytest.raises(ImproperlyConfigured, match="migrate_clinics"):
        clinic_provision(
            chain=chain, name="Sem Modelo", slug="sem_modelo", timezone="America/Sao_Paulo"
        )
    assert _nothing_left("sem_modelo")


def _catalog(schema: str) -> dict:
    """Columns, constraints and indexes of a schema by name and structure (not by their text:
    PostgreSQL re-renders equivalent CHECK expressions differently after a round trip)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, column_name, data_type, is_nullable, is_identity,
                   coalesce(column_default, '')
            FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2
            """,
            [schema],
        )
        columns = cursor.fetchall()
        cursor.execute(
            """
            SELECT cl.relname, co.conname, co.contype, co.conkey::text, co.confkey::text,
                   coalesce(fcl.relname, ''), co.condeferrable, co.condeferred
            FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
            JOIN pg_namespace n ON n.oid = cl.relnamespace
            LEFT JOIN pg_class fcl ON fcl.oid = co.confrelid
            WHERE n.nspname = %s ORDER BY 1, 2
            """,
            [schema],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """
            SELECT ic.relname, tc.relname, i.indkey::text, i.indisunique, i.indpred IS NOT NULL
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_class tc ON tc.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = ic.relnamespace WHERE n.nspname = %s ORDER BY 1
            """,
            [schema],
        )
        indexes = cursor.fetchall()
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY app, name')
        migrations = cursor.fetchall()
        cursor.execute(
            """
            SELECT c.relname, c.relkind FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s AND c.relkind IN ('S', 'r') ORDER BY 1
            """,
            [schema],
        )
        relations = cursor.fetchall()
        cursor.execute(
            """
            SELECT p.proname, pg_get_function_arguments(p.oid), p.prosrc FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s ORDER BY 1
            """,
            [schema],
        )
        functions = cursor.fetchall()
        cursor.execute(
            """
            SELECT c.relname, t.tgname, t.tgtype, p.proname,
                   CASE WHEN pn.nspname = n.nspname THEN 'own' ELSE pn.nspname END
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace
            WHERE n.nspname = %s AND NOT t.tgisinternal ORDER BY 1, 2
            """,
            [schema],
        )
        triggers = cursor.fetchall()
    return {
        "columns": columns,
        "constraints": constraints,
        "indexes": indexes,
        "migrations": migrations,
        "relations": relations,
        "functions": functions,
        "triggers": triggers,
    }


def test_a_cloned_clinic_schema_matches_the_migrated_template(clinic_a):
    cloned, template = _catalog("clinic_a"), _catalog("clinic_template")
    assert cloned["columns"] and cloned["indexes"] and cloned["migrations"]
    assert any(kind == "S" for _, kind in cloned["relations"])
    # The audit trail's append-only trigger, calling the clinic's own copy of its function.
    assert ("audit_accessentry", "audit_accessentry_append_only") in {
        (table, name) for table, name, *_ in cloned["triggers"]
    }
    # Each trigger calls the clinic's own copy of its function, or a function shared by every
    # clinic in public (the pending check-ins' index): never the template's.
    assert {schema for *_, schema in cloned["triggers"]} <= {"own", "public"}
    assert cloned == template


def test_a_cloned_schema_refuses_changes_to_its_access_trail(clinic_a):
    from django.db import DatabaseError, transaction

    from audit.models import AccessEntry

    with clinic_a:
        entry = AccessEntry.objects.create(
            action=AccessEntry._meta.get_field("action").choices[0][0]
        )
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AccessEntry.objects.filter(pk=entry.pk).delete()
        assert AccessEntry.objects.filter(pk=entry.pk).exists()


def _clone_cache() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version, built_at FROM public.clinico_clone_ddl WHERE template = %s",
            ["clinic_template"],
        )
        return cursor.fetchone()


def test_clones_replay_ddl_built_once_per_template_version(chain):
    clinic_provision(chain=chain, name="Um", slug="cache_um", timezone="America/Sao_Paulo")
    version, _ = _clone_cache()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE public.clinico_clone_ddl SET built_at = '2000-01-01'")
    clinic_provision(chain=chain, name="Dois", slug="cache_dois", timezone="America/Sao_Paulo")
    assert _clone_cache()[1].year == 2000  # replayed, not generated again

    # The template migrates (a table and its migration record): the next clone has the table.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE clinic_template.probe_note (id bigint GENERATED BY DEFAULT AS "
            "IDENTITY PRIMARY KEY, body text NOT NULL CHECK (body <> ''))"
        )
        cursor.execute(
            "INSERT INTO clinic_template.django_migrations (app, name, applied) "
            "VALUES ('probe', '0001_note', now())"
        )
    clinic_provision(chain=chain, name="Três", slug="cache_tres", timezone="America/Sao_Paulo")
    new_version, built_at = _clone_cache()
    assert new_version != version and built_at.year != 2000
    assert _catalog("cache_tres") == _catalog("clinic_template")
    assert "probe_note" in {name for name, _ in _catalog("cache_tres")["relations"]}


def test_a_cloned_schema_enforces_the_templates_check_constraints(clinic_a):
    from django.db import IntegrityError, transaction

    with clinic_a, pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.create(name="Sem prefixo válido", prefix="r1")


def test_a_cloned_schema_numbers_new_rows_after_the_copied_migration_records(clinic_a):
    with connection.cursor() as cursor:
        cursor.execute('SELECT max(id) FROM "clinic_a".django_migrations')
        last = cursor.fetchone()[0]
        cursor.execute(
            'INSERT INTO "clinic_a".django_migrations (app, name, applied) '
            "VALUES ('probe', 'probe', now()) RETURNING id"
        )
        assert cursor.fetchone()[0] == last + 1
