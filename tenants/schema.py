"""The clinic template schema: kept migrated, and cloned to create each clinic."""

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django_tenants.utils import schema_exists

from common.tenancy import tenant_connection

CLONE_FUNCTION_SQL = (Path(__file__).parent / "clone.sql").read_text()
# Stored as the clone function's comment: a changed clone.sql is re-installed by migrate_clinics.
CLONE_FUNCTION_DIGEST = hashlib.sha256(CLONE_FUNCTION_SQL.encode()).hexdigest()[:16]


def template_schema_name() -> str:
    return settings.TENANT_BASE_SCHEMA


def clone_function_install() -> None:
    """(Re)create clinico_clone_schema() in the public schema; empties its DDL cache."""
    with tenant_connection.cursor() as cursor:
        cursor.execute(CLONE_FUNCTION_SQL)
        cursor.execute(
            f"COMMENT ON FUNCTION public.clinico_clone_schema(text, text) IS "
            f"'clone.sql {CLONE_FUNCTION_DIGEST}'"
        )


def clone_function_ensure() -> bool:
    """Install the clone function unless this clone.sql is already installed; True if it was."""
    with tenant_connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(to_regprocedure('public.clinico_clone_schema(text, text)'), "
            "'pg_proc')"
        )
        installed = cursor.fetchone()[0]
    if installed == f"clone.sql {CLONE_FUNCTION_DIGEST}":
        return False
    clone_function_install()
    return True


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
    every kind of object on each call; ours replays statements generated once per template
    version (tenants/clone.sql), so its cost does not grow with the number of schemas.
    """
    template = template_schema_name()
    tenant_connection.set_schema_to_public()
    if not schema_exists(template):
        raise ImproperlyConfigured(
            f'The clinic template schema "{template}" does not exist; '
            "run `python manage.py migrate_clinics` first."
        )
    with tenant_connection.cursor() as cursor:
        cursor.execute("SELECT to_regproc('public.clinico_template_ddl') IS NOT NULL")
        if not cursor.fetchone()[0]:
            clone_function_install()
        cursor.execute("SELECT public.clinico_clone_schema(%s, %s)", [template, schema_name])
    tenant_connection.set_schema_to_public()
