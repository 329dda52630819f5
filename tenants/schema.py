"""The clinic template schema: kept migrated, and cloned to create each clinic."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists

# Serialises clones: each clone (re)creates the clone_schema() function in the public schema.
_CLONE_LOCK_KEY = 0x434C4E43


def template_schema_name() -> str:
    return settings.TENANT_BASE_SCHEMA


def template_schema_ensure(*, verbosity: int = 0) -> bool:
    """Create the template schema if missing and bring it up to date; True when it was created."""
    name = template_schema_name()
    created = False
    if not schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
        created = True
    call_command(
        "migrate_schemas", tenant=True, schema_name=name, interactive=False, verbosity=verbosity
    )
    connection.set_schema_to_public()
    return created


def clone_template_schema(schema_name: str) -> None:
    """Create `schema_name` as a copy of the migrated template, migration records included."""
    template = template_schema_name()
    connection.set_schema_to_public()
    if not schema_exists(template):
        raise ImproperlyConfigured(
            f'The clinic template schema "{template}" does not exist; '
            "run `python manage.py migrate_clinics` first."
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CLONE_LOCK_KEY])
    # DATA mode copies django_migrations too, so the clone needs no faked migrate afterwards.
    CloneSchema().clone_schema(template, schema_name, "DATA")
    connection.set_schema_to_public()
