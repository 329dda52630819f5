"""The clinic template schema: kept migrated, and cloned to create each clinic."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django_tenants.utils import schema_exists

from common.tenancy import tenant_connection

CLONE_FUNCTION_SQL = (Path(__file__).parent / "clone.sql").read_text()


def template_schema_name() -> str:
    return settings.TENANT_BASE_SCHEMA


def clone_function_install() -> None:
    """(Re)create clinico_clone_schema() in the public schema."""
    with tenant_connection.cursor() as cursor:
        cursor.execute(CLONE_FUNCTION_SQL)


def template_schema_ensure(*, verbosity: int = 0) -> bool:
    """Create the template schema if missing and bring it up to date; True when it was created."""
    name = template_schema_name()
    created = False
    tenant_connection.set_schema_to_public()
    if not schema_exists(name):
        with tenant_connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
        created = True
    call_command(
        "migrate_schemas", tenant=True, schema_name=name, interactive=False, verbosity=verbosity
    )
    tenant_connection.set_schema_to_public()
    clone_function_install()
    return created


def clone_template_schema(schema_name: str) -> None:
    """Create `schema_name` as a copy of the migrated template, migration records included.

    django-tenants' generic clone (pg-clone-schema) re-creates a 4,500-line function and walks
    every kind of object on each call; clinic schemas hold plain tables only, so ours copies
    tables, constraints and indexes by name in a fraction of the time.
    """
    template = template_schema_name()
    tenant_connection.set_schema_to_public()
    if not schema_exists(template):
        raise ImproperlyConfigured(
            f'The clinic template schema "{template}" does not exist; '
            "run `python manage.py migrate_clinics` first."
        )
    with tenant_connection.cursor() as cursor:
        cursor.execute("SELECT to_regproc('public.clinico_clone_schema') IS NOT NULL")
        if not cursor.fetchone()[0]:
            clone_function_install()
        cursor.execute("SELECT public.clinico_clone_schema(%s, %s)", [template, schema_name])
    tenant_connection.set_schema_to_public()
