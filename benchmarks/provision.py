"""Provisioning benchmark: clinics cloned from the template schema vs. clinics built by migrations.

Both paths run the whole `clinic_provision` service (schema, domain, default service, reset
schedule) in the same run against the same PostgreSQL; only how the schema gets its tables differs.
Run: .venv/bin/python benchmarks/provision.py [--clones 20] [--migrations 5] [--keep]
"""

import sys  # noqa: I001
from pathlib import Path

# benchmarks/queue.py sits beside this script: keep this folder off sys.path so `import queue`
# (used by concurrent.futures, logging and urllib3) finds the standard library module.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from tenants.models import Chain, Clinic  # noqa: E402
from tenants.schema import template_schema_ensure  # noqa: E402
from tenants.services import chain_create, clinic_provision  # noqa: E402


def _create_schema_by_migrations(self, check_if_exists=False, sync_schema=True, verbosity=1):
    """What django-tenants does without a template: CREATE SCHEMA, then every migration."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{self.schema_name}"')
    call_command(
        "migrate_schemas", tenant=True, schema_name=self.schema_name, interactive=False, verbosity=0
    )
    connection.set_schema_to_public()


def _provision(chain: Chain, slug: str) -> float:
    started = time.perf_counter()
    clinic_provision(chain=chain, name=f"Bench {slug}", slug=slug, timezone="America/Sao_Paulo")
    return time.perf_counter() - started


def _drop(slugs: list[str]) -> None:
    from django_celery_beat.models import PeriodicTask

    for slug in slugs:
        clinic = Clinic.objects.filter(schema_name=slug).first()
        if clinic is not None:
            PeriodicTask.objects.filter(name=f"daily-reset:{slug}").delete()
            clinic.domains.all().delete()
            clinic.delete(force_drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clones", type=int, default=20)
    parser.add_argument("--migrations", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the bench clinics afterwards")
    args = parser.parse_args()

    template_schema_ensure()
    chain = Chain.objects.filter(slug="bench_provision").first() or chain_create(
        name="Bench provisioning", slug="bench_provision"
    )
    run = uuid.uuid4().hex[:6]
    clone_slugs = [f"bp_{run}_c{i}" for i in range(args.clones)]
    migrate_slugs = [f"bp_{run}_m{i}" for i in range(args.migrations)]
    try:
        clone_times = [_provision(chain, slug) for slug in clone_slugs]
        original = Clinic.create_schema
        Clinic.create_schema = _create_schema_by_migrations
        try:
            migrate_times = [_provision(chain, slug) for slug in migrate_slugs]
        finally:
            Clinic.create_schema = original
    finally:
        if not args.keep:
            _drop(clone_slugs + migrate_slugs)

    clone_median = statistics.median(clone_times)
    migrate_median = statistics.median(migrate_times)
    speedup = migrate_median / clone_median
    print(f"clinics by clone:      {len(clone_times):>3}  median {clone_median:.3f} s/clinic")
    print(f"clinics by migrations: {len(migrate_times):>3}  median {migrate_median:.3f} s/clinic")
    print(f"speedup: {speedup:.1f}x   (target: clone <= 0.5 s and >= 5x faster)")
    print(
        json.dumps(
            {
                "bench": "provision",
                "clone_s_median": round(clone_median, 4),
                "migrate_s_median": round(migrate_median, 4),
                "speedup": round(speedup, 2),
                "clones": len(clone_times),
                "migrations": len(migrate_times),
            }
        )
    )


if __name__ == "__main__":
    main()
