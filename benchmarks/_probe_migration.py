"""A throwaway tenant migration, a column and an index on queueing's Service, for the scale
benchmark and the tests of migrate_clinics.

It is installed as a copy of queueing's migrations package plus one new file, through
MIGRATION_MODULES, so `migrate_clinics` runs it exactly as it would run a real one; the
migration is reversible, and `probe_migration_undo` takes it out of the schemas it reached.
Import after `django.setup()`.
"""

import shutil
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings

PROBE_APP = "queueing"
PROBE_NAME = "9999_scale_probe"
PROBE_COLUMN = "scale_probe"
PROBE_INDEX = "service_scale_probe"
PROBE_PACKAGE = "clinico_probe_migrations"

_MIGRATION = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [{dependencies}]
    operations = [
        migrations.AddField("service", "{column}", models.IntegerField(null=True)),
        migrations.AddIndex(
            "service", models.Index(fields=["{column}"], name="{index}")
        ),
    ]
"""


@contextmanager
def probe_migration(*, folder: Path) -> Iterator[str]:
    """Within the block, queueing's migrations include the probe; yields its "app.name"."""
    from django.apps import apps

    source = Path(apps.get_app_config(PROBE_APP).path) / "migrations"
    package = folder / PROBE_PACKAGE
    if package.exists():
        shutil.rmtree(package)
    shutil.copytree(source, package, ignore=shutil.ignore_patterns("__pycache__"))
    leaves = [node for node in MigrationLoader(None).graph.leaf_nodes() if node[0] == PROBE_APP]
    (package / f"{PROBE_NAME}.py").write_text(
        _MIGRATION.format(
            dependencies=", ".join(repr(node) for node in leaves),
            column=PROBE_COLUMN,
            index=PROBE_INDEX,
        )
    )
    sys.path.insert(0, str(folder))
    try:
        with override_settings(MIGRATION_MODULES={PROBE_APP: PROBE_PACKAGE}):
            yield f"{PROBE_APP}.{PROBE_NAME}"
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == PROBE_PACKAGE]:
            del sys.modules[name]
        shutil.rmtree(package, ignore_errors=True)


def probe_migration_undo(*, schemas: Iterable[str]) -> None:
    """Remove the probe's column, index and record from each schema (public and the template
    included), whether or not it reached them."""
    with connection.cursor() as cursor:
        for schema in schemas:
            quoted = connection.ops.quote_name(schema)
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{quoted}.queueing_service"])
            if cursor.fetchone()[0]:
                cursor.execute(
                    f"ALTER TABLE {quoted}.queueing_service DROP COLUMN IF EXISTS {PROBE_COLUMN}"
                )
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{quoted}.django_migrations"])
            if cursor.fetchone()[0]:
                cursor.execute(
                    f"DELETE FROM {quoted}.django_migrations WHERE app = %s AND name = %s",
                    [PROBE_APP, PROBE_NAME],
                )
