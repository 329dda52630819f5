"""Provisioning benchmark: clinics cloned from the template schema vs. clinics built by migrations.

Both paths run the whole `clinic_provision` service (schema, domain, default service, reset
schedule) in the same run against the same PostgreSQL; only how the schema gets its tables differs.
They alternate: one clinic by migrations (the floor the clone is compared with), a batch of
clones, one by migrations, … , one by migrations, so both see the same drift of a busy machine.
The clinics are bench clinics (bench chain), dropped at the end unless --keep (then left
inactive, like every bench clinic when a benchmark ends).
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
import math
import os
import threading
import time
import uuid

sys.path.insert(0, str(_HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from benchmarks._bench import (  # noqa: E402
    bench_chain,
    bench_clinic_drop,
    bench_clinics_deactivate,
    interleaved,
    latency_summary,
    median,
)
from tenants.models import Chain, Clinic  # noqa: E402
from tenants.schema import template_schema_ensure  # noqa: E402
from tenants.services import clinic_provision  # noqa: E402


def _create_schema_by_migrations(self, check_if_exists=False, sync_schema=True, verbosity=1):
    """What django-tenants does without a template: CREATE SCHEMA, then every migration.

    On a connection of its own (a thread), committed as it goes, as django-tenants' own
    `migrate_schemas` runs: inside the provisioning's transaction, whose search path is set per
    transaction, the migration executor would look for its table in one schema and create it
    in another.
    """
    failure: list[BaseException] = []

    def build() -> None:
        try:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{self.schema_name}"')
            call_command(
                "migrate_schemas",
                tenant=True,
                schema_name=self.schema_name,
                interactive=False,
                verbosity=0,
            )
        except BaseException as error:  # re-raised in the provisioning's thread
            failure.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=build)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def _provision(chain: Chain, slug: str) -> float:
    started = time.perf_counter()
    clinic_provision(chain=chain, name=f"Bench {slug}", slug=slug, timezone="America/Sao_Paulo")
    return time.perf_counter() - started


def _drop(slugs: list[str]) -> None:
    for clinic in Clinic.objects.filter(schema_name__in=slugs):
        bench_clinic_drop(clinic=clinic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clones", type=int, default=20)
    parser.add_argument("--migrations", type=int, default=5, help="at least 2")
    parser.add_argument("--keep", action="store_true", help="keep the bench clinics afterwards")
    args = parser.parse_args()
    if args.migrations < 2 or args.clones < 1:
        parser.error("use at least 2 clinics by migrations and 1 clone")

    template_schema_ensure()
    chain = bench_chain()
    run = uuid.uuid4().hex[:6]
    clone_slugs = [f"bp_{run}_c{i}" for i in range(args.clones)]
    migrate_slugs = [f"bp_{run}_m{i}" for i in range(args.migrations)]
    # migrations - 1 batches of clones, each between two clinics built by migrations.
    rounds = args.migrations - 1
    per_batch = math.ceil(args.clones / rounds)
    clone_times: list[float] = []
    migrate_times: list[float] = []

    def by_migrations(i: int) -> None:
        original = Clinic.create_schema
        Clinic.create_schema = _create_schema_by_migrations
        try:
            migrate_times.append(_provision(chain, migrate_slugs[i]))
        finally:
            Clinic.create_schema = original

    def by_clone(i: int) -> None:
        for slug in clone_slugs[i * per_batch : (i + 1) * per_batch]:
            clone_times.append(_provision(chain, slug))

    try:
        interleaved(rounds=rounds, floor=by_migrations, measured=by_clone)
    finally:
        if args.keep:
            bench_clinics_deactivate()
        else:
            _drop(clone_slugs + migrate_slugs)

    clone = latency_summary(clone_times, digits=4)
    migrate = latency_summary(migrate_times, digits=4)
    clone_median, migrate_median = median(clone_times), median(migrate_times)
    speedup = migrate_median / clone_median
    print(
        f"clinics by clone:      {len(clone_times):>3}  median {clone_median:.3f} s/clinic, "
        f"p95 {clone['p95']:.3f} s"
    )
    print(
        f"clinics by migrations: {len(migrate_times):>3}  median {migrate_median:.3f} s/clinic, "
        f"p95 {migrate['p95']:.3f} s  (interleaved with the clones, {rounds} batches)"
    )
    print(f"speedup: {speedup:.1f}x   (target: clone <= 0.5 s and >= 5x faster)")
    print(
        json.dumps(
            {
                "bench": "provision",
                "clone_s_median": round(clone_median, 4),
                "migrate_s_median": round(migrate_median, 4),
                "speedup": round(speedup, 2),
                "clone_s_p95": clone["p95"],
                "migrate_s_p95": migrate["p95"],
                "clones": len(clone_times),
                "migrations": len(migrate_times),
            }
        )
    )


if __name__ == "__main__":
    main()
