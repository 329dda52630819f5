"""`make bench-clean`: drop every bench clinic with its schema, and the bench chain.

Bench clinics are the clinics of the bench chain, plus those older benchmarks left elsewhere:
the chain `bench_provision`, and `bench_queue`, `bench_1` … `bench_3` named "Bench …" in the
demo chain. Each is dropped in its own transaction (schema, reset schedule, domains, memberships,
day summaries), so an interruption leaves whole clinics only. The bench logins stay, with no
membership left: a user cannot be deleted from the public schema while clinic tables (patients'
record changes) point at users, since Django looks for those rows in the public schema.
It also drops the databases benchmarks/scale.py keeps (`--keep`) or leaves behind when killed.
Run: .venv/bin/python benchmarks/_clean.py
"""

import os
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Q  # noqa: E402

from benchmarks._bench import BENCH_CHAIN_SLUG, bench_clinic_drop  # noqa: E402
from tenants.models import Chain, Clinic  # noqa: E402

LEGACY_CHAIN_SLUGS = ["bench_provision"]
DASHBOARD_CHAIN_PREFIX = "bench_dashboard_"
LEGACY_CLINIC_SLUGS = ["bench_queue", "bench_1", "bench_2", "bench_3"]


def main() -> None:
    connection.set_schema_to_public()
    # With the chains of benchmarks/_scale_dashboard.py (bench_dashboard_<n>).
    chains = [
        BENCH_CHAIN_SLUG,
        *LEGACY_CHAIN_SLUGS,
        *Chain.objects.filter(slug__startswith=DASHBOARD_CHAIN_PREFIX).values_list(
            "slug", flat=True
        ),
    ]
    clinics = Clinic.objects.filter(
        Q(chain__slug__in=chains) | Q(schema_name__in=LEGACY_CLINIC_SLUGS, name__startswith="Bench")
    ).order_by("schema_name")
    started = time.perf_counter()
    dropped = 0
    for clinic in clinics.iterator():
        with transaction.atomic():
            bench_clinic_drop(clinic=clinic)
        dropped += 1
        if dropped % 200 == 0:
            print(f"  dropped {dropped} ({time.perf_counter() - started:.0f} s)", flush=True)
    chains_deleted = Chain.objects.filter(slug__in=chains).delete()[1].get("tenants.Chain", 0)
    print(
        f"dropped {dropped} bench clinics and their schemas in {time.perf_counter() - started:.1f}"
        f" s, and {chains_deleted} bench chain(s)"
    )
    _scale_databases_drop()


def _scale_databases_drop() -> None:
    """The databases of benchmarks/scale.py (never the one this process is connected to)."""
    scale_db = os.environ.get("CLINICO_SCALE_DB", "clinico_scale")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname FROM pg_database WHERE datname IN (%s, %s) AND datname <> "
            "current_database()",
            [scale_db, f"{scale_db}_small"],
        )
        names = [row[0] for row in cursor.fetchall()]
        for name in names:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            print(f"dropped the database {name} of benchmarks/scale.py")


if __name__ == "__main__":
    main()
