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
        ("", "required"),
        ("Norte", "lower-case"),
        ("1norte", "lower-case"),
        ("nor-te", "lower-case"),
        ("a" * 64, "63"),
        ("public", "reserved"),
        ("pg_norte", "reserved"),
        ("clinic_template", "reserved"),
    ],
)
def test_invalid_slugs_are_refused_with_the_reason(chain, slug, reason):
    with pytest.raises(ValidationError) as exc:
        clinic_provision(chain=chain, name="X", slug=slug, timezone="America/Sao_Paulo")
    assert reason in " ".join(exc.value.message_dict["slug"])


def test_unknown_timezone_is_refused(chain):
    with pytest.raises(ValidationError) as exc:
        clinic_provision(chain=chain, name="X", slug="xis", timezone="America/Atlantis")
    assert "IANA" in exc.value.message_dict["timezone"][0]
    assert _nothing_left("xis")


def test_duplicate_slug_is_refused_case_insensitively(chain, clinic_a):
    with pytest.raises(ValidationError) as exc:
        clinic_provision(chain=chain, name="X", slug="clinic_a", timezone="America/Sao_Paulo")
    assert "already exists" in exc.value.message_dict["slug"][0]


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
    return {
        "columns": columns,
        "constraints": constraints,
        "indexes": indexes,
        "migrations": migrations,
    }


def test_a_cloned_clinic_schema_matches_the_migrated_template(clinic_a):
    cloned, template = _catalog("clinic_a"), _catalog("clinic_template")
    assert cloned["columns"] and cloned["indexes"] and cloned["migrations"]
    assert cloned == template


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
