"""Scale benchmark: provisioning, migrations and the per-clinic loops at thousands of clinics.

Runs in a database of its own on the same cluster (`clinico_scale` by default, dropped and
created again at the start; never the demo database), in stages:

1. 10 clinics provisioned one by one (the whole `clinic_provision` service) while the database
   is new (`provision_s_median_first_10`).
2. Clinics provisioned up to 2,000 (in parallel), then a new tenant migration, a column and an
   index on queueing's Service (benchmarks/_probe_migration.py), applied to every clinic by
   `manage.py migrate_clinics --jobs J` run as a command, through a settings module that adds
   the migration. Floor: the old path (django-tenants' migrate per schema) on a sample of clinics,
   per clinic times 2,000. The migration is then taken out of every schema again.
3. Clinics provisioned up to `--clinics` (10,000), then 10 more one by one, in alternating
   batches with 10 provisioned in a companion database of 10 clinics (`<db>_small`, the
   floor): `provision_s_median_at_10000` and `provision_s_median_at_10`.
   `manage.py migrate_clinics` with nothing pending, as `make run` runs it; floor: the old path
   with nothing to do on a sample, per clinic times the clinic count.
4. The loops other modules replace, when their helpers are present: statements of one check-in
   sweep (benchmarks/_scale_sweep.py, `sweep_statements(clinics=N)`) and the chain dashboard's
   figures for a 200-clinic and a 5-clinic chain (benchmarks/_scale_dashboard.py,
   `dashboard_ms(clinics=N) -> float`, on chains of its own); null when absent.

With fewer clinics (`--clinics` or CLINICO_SCALE_CLINICS, for trial runs) the `_10000` and
`_2000` figures are at the counts printed as `clinics` and `migrate_new_clinics`.
Run: .venv/bin/python benchmarks/scale.py [--clinics 10000] [--jobs 4] [--keep]
"""

import sys  # noqa: I001
from pathlib import Path

# benchmarks/queue.py sits beside this script: keep this folder off sys.path so `import queue`
# (used by concurrent.futures, logging and urllib3) finds the standard library module.
_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]

import argparse
import json
import multiprocessing
import os
import subprocess
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg2

sys.path.insert(0, str(_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.dev")

SCALE_DB = os.environ.get("CLINICO_SCALE_DB", "clinico_scale")
MIGRATE_NEW_AT = 2000
SAMPLE = 10  # clinics timed one by one at each end, and clinics of the old-path floors
CHAINS = (("scale_5", 5), ("scale_200", 200))  # the dashboard's chains; the rest in "scale"


_PORT = os.environ.get("CLINICO_PG_PORT", "54329")
DEMO_URL = os.environ.get("DATABASE_URL", f"postgres://postgres@127.0.0.1:{_PORT}/clinico")


def _database_urls() -> tuple[str, str]:
    """The bench database's URL and the maintenance database's, on the demo's cluster."""
    parts = urlsplit(DEMO_URL)
    if parts.path.strip("/") == SCALE_DB:
        raise SystemExit("DATABASE_URL already names the bench database; give the demo one.")
    return (
        urlunsplit(parts._replace(path=f"/{SCALE_DB}")),
        urlunsplit(parts._replace(path="/postgres")),
    )


def _database_recreate(maintenance_url: str, name: str = SCALE_DB, *, drop_only=False) -> None:
    conn = psycopg2.connect(maintenance_url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


SCALE_URL, MAINTENANCE_URL = _database_urls()
os.environ["DATABASE_URL"] = SCALE_URL

import django  # noqa: E402

_args_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_args_parser.add_argument(
    "--clinics", type=int, default=int(os.environ.get("CLINICO_SCALE_CLINICS", "10000"))
)
_args_parser.add_argument(
    "--jobs", type=int, default=int(os.environ.get("CLINICO_SCALE_JOBS", "4"))
)
_args_parser.add_argument(
    "--keep", action="store_true", help="keep the bench database (dropped at the end otherwise)"
)
# Internal: provision this many clinics named <prefix><n> one by one; print their seconds.
_args_parser.add_argument("--provision-times", type=int, help=argparse.SUPPRESS)
_args_parser.add_argument("--prefix", default="t", help=argparse.SUPPRESS)
SMALL_DB = f"{SCALE_DB}_small"  # 10 clinics: provisioning there, interleaved, is the floor


def _provision_times(db: str, count: int, prefix: str) -> list[float]:
    """Provision `count` clinics in `db` from a process of its own; their seconds each."""
    env = dict(os.environ, DATABASE_URL=DEMO_URL, CLINICO_SCALE_DB=db)
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--provision-times",
            str(count),
            "--prefix",
            prefix,
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"provisioning in {db} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _provision_times_main(count: int, prefix: str) -> None:
    django.setup()
    from tenants.models import Chain, Clinic
    from tenants.services import chain_create

    chain = Chain.objects.filter(slug="scale").first() or chain_create(name="Scale", slug="scale")
    first = Clinic.objects.filter(schema_name__startswith=prefix).count()
    _chain_ids["scale"] = chain.pk
    _provision_one((f"{prefix}{first:05d}", "scale"))  # warm: imports, connection, caches
    times = [_provision_one((f"{prefix}{first + 1 + i:05d}", "scale")) for i in range(count)]
    print(json.dumps(times))


def _command(
    *args: str, settings_module: str | None = None, path: str | None = None, url: str = ""
) -> float:
    """Run `manage.py <args>` against the bench database; its wall seconds (start-up included)."""
    env = dict(os.environ, DATABASE_URL=url or SCALE_URL)
    if settings_module:
        env["DJANGO_SETTINGS_MODULE"] = settings_module
    if path:
        env["PYTHONPATH"] = os.pathsep.join([path, str(_ROOT), env.get("PYTHONPATH", "")])
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=_ROOT, env=env)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} exited with {done.returncode}")
    return seconds


_chain_ids: dict[str, int] = {}


def _provision_one(slug_chain: tuple[str, str]) -> float:
    from tenants.models import Chain
    from tenants.services import clinic_provision

    slug, chain_slug = slug_chain
    chain = Chain.objects.get(pk=_chain_ids[chain_slug])
    started = time.perf_counter()
    clinic_provision(chain=chain, name=f"Scale {slug}", slug=slug, timezone="America/Sao_Paulo")
    return time.perf_counter() - started


def _worker_init() -> None:
    from django.db import connections

    connections.close_all()


def _chain_of(index: int) -> str:
    start = 0
    for slug, size in CHAINS:
        if start <= index < start + size:
            return slug
        start += size
    return "scale"


class Provisioner:
    def __init__(self, jobs: int):
        self.jobs = jobs
        self.count = 0

    def one_by_one(self, n: int) -> list[float]:
        return [self._next_batch(1, parallel=False)[0] for _ in range(n)]

    def up_to(self, total: int) -> None:
        started, first = time.perf_counter(), self.count
        while self.count < total:
            batch = min(500, total - self.count)
            self._next_batch(batch, parallel=True)
            rate = (self.count - first) / max(time.perf_counter() - started, 1e-6)
            print(f"  provisioned {self.count}/{total} ({rate:.1f}/s so far)", flush=True)

    def _next_batch(self, n: int, *, parallel: bool) -> list[float]:
        from django.db import connections

        items = [(f"s{i:05d}", _chain_of(i)) for i in range(self.count, self.count + n)]
        self.count += n
        if not parallel or self.jobs <= 1:
            return [_provision_one(item) for item in items]
        connections.close_all()
        context = multiprocessing.get_context("fork")
        with context.Pool(self.jobs, _worker_init) as pool:
            return pool.map(_provision_one, items, chunksize=8)


def _old_path_seconds(schemas: list[str]) -> list[float]:
    """django-tenants' migrate of one schema at a time (what migrate_clinics ran before)."""
    from django.core.management import call_command

    times = []
    for schema in schemas:
        started = time.perf_counter()
        call_command(
            "migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=0
        )
        times.append(time.perf_counter() - started)
    return times


def _catalog_size() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class")
        relations = cursor.fetchone()[0]
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    return {"pg_class_rows": relations, "database_mb": round(size / 2**20)}


def _optional(module: str, call) -> dict:
    try:
        imported = __import__(f"benchmarks.{module}", fromlist=["*"])
    except ImportError:
        print(f"  benchmarks/{module}.py is not here: null")
        return {}
    try:
        return call(imported)
    except Exception as exc:  # another module's helper: report, keep the other figures
        print(f"  benchmarks/{module}.py failed: {type(exc).__name__}: {exc}")
        return {}


def main() -> None:
    args = _args_parser.parse_args()
    if args.provision_times:
        _provision_times_main(args.provision_times, args.prefix)
        return
    total = max(args.clinics, 2 * SAMPLE)
    new_at = min(MIGRATE_NEW_AT, total - SAMPLE)
    _database_recreate(MAINTENANCE_URL)
    print(f"bench database {SCALE_DB}: migrating public and the template", flush=True)
    _command("migrate_clinics", "-v", "0")
    _database_recreate(MAINTENANCE_URL, SMALL_DB)
    _command(
        "migrate_clinics",
        "-v",
        "0",
        url=urlunsplit(urlsplit(SCALE_URL)._replace(path=f"/{SMALL_DB}")),
    )
    _provision_times(SMALL_DB, SAMPLE - 1, "m")  # the floor's database holds 10 clinics
    django.setup()

    from django.db import connection

    from benchmarks._bench import median
    from benchmarks._probe_migration import probe_migration, probe_migration_undo
    from tenants.models import Clinic
    from tenants.schema import template_schema_name
    from tenants.services import chain_create

    for slug, _ in (*CHAINS, ("scale", 0)):
        _chain_ids[slug] = chain_create(name=f"Scale {slug}", slug=slug).pk
    figures: dict = {"bench": "scale", "clinics": total, "jobs": args.jobs}
    provisioner = Provisioner(args.jobs)
    try:
        print(f"1. {SAMPLE} clinics one by one", flush=True)
        at_10 = provisioner.one_by_one(SAMPLE)
        figures["provision_s_median_first_10"] = round(median(at_10), 4)
        print(f"   median {median(at_10):.3f} s", flush=True)

        print(f"2. up to {new_at} clinics, then a new migration across them", flush=True)
        provisioner.up_to(new_at)
        everywhere = [
            "public",
            template_schema_name(),
            *Clinic.objects.values_list("schema_name", flat=True),
        ]
        with tempfile.TemporaryDirectory() as folder, probe_migration(folder=Path(folder)):
            settings_module = "clinico_probe_settings"
            (Path(folder) / f"{settings_module}.py").write_text(
                f"from {os.environ['DJANGO_SETTINGS_MODULE']} import *  # noqa\n"
                "MIGRATION_MODULES = {'queueing': 'clinico_probe_migrations'}\n"
            )
            new_s = _command(
                "migrate_clinics",
                "--jobs",
                str(args.jobs),
                settings_module=settings_module,
                path=folder,
            )
            sample = [s for s in everywhere if s.startswith("s")][-SAMPLE // 2 :]
            probe_migration_undo(schemas=sample)
            old_new = _old_path_seconds(sample)  # the probe is in the graph in this block
        figures["migrate_new_s_2000"] = round(new_s, 2)
        figures["migrate_new_clinics"] = new_at
        figures["old_path_new_s_est"] = round(median(old_new) * new_at, 1)
        print(
            f"   migrate_clinics: {new_s:.1f} s for {new_at} clinics (floor, the old path: "
            f"{median(old_new):.3f} s per clinic, {median(old_new) * new_at:.0f} s in all)",
            flush=True,
        )
        started = time.perf_counter()
        probe_migration_undo(schemas=everywhere)
        print(f"   migration taken out again in {time.perf_counter() - started:.0f} s", flush=True)

        print(f"3. up to {total} clinics", flush=True)
        provisioner.up_to(total)
        # Alternating batches, each in a fresh process: the big database, then the floor's
        # (10 clinics), and so on; both see the same drift of a shared machine.
        at_n, at_10 = [], []
        for batch in range(5):
            at_n += _provision_times(SCALE_DB, 2, f"n{batch}_")
            at_10 += _provision_times(SMALL_DB, 2, f"f{batch}_")
        figures["provision_s_median_at_10"] = round(median(at_10), 4)
        figures["provision_s_median_at_10000"] = round(median(at_n), 4)
        figures["provision_ratio"] = round(median(at_n) / median(at_10), 2)
        print(
            f"   provisioning median {median(at_n):.3f} s at {total} clinics vs "
            f"{median(at_10):.3f} s at 10 (alternating batches): {figures['provision_ratio']}x "
            "(target <= 1.5x)",
            flush=True,
        )
        figures.update(_catalog_size())
        noop_s = _command("migrate_clinics", "-v", "1", "--jobs", str(args.jobs))
        old_noop = _old_path_seconds([f"s{i:05d}" for i in range(total - SAMPLE, total)])
        figures["migrate_noop_s_10000"] = round(noop_s, 2)
        figures["old_path_noop_s_est"] = round(median(old_noop) * total, 1)
        print(
            f"   migrate_clinics with nothing pending: {noop_s:.1f} s (floor, the old path: "
            f"{median(old_noop):.3f} s per clinic, {median(old_noop) * total:.0f} s in all)",
            flush=True,
        )
        connection.set_schema_to_public()

        print("4. per-clinic loops", flush=True)
        figures["sweep_statements"] = _optional(
            "_scale_sweep", lambda m: {"sweep_statements": m.sweep_statements(clinics=total)}
        ).get("sweep_statements")
        dashboard = _optional(
            "_scale_dashboard",
            lambda m: {
                "dashboard_200_ms": round(m.dashboard_ms(clinics=200), 1),
                "dashboard_5_ms": round(m.dashboard_ms(clinics=5), 1),
            },
        )
        figures["dashboard_200_ms"] = dashboard.get("dashboard_200_ms")
        figures["dashboard_5_ms"] = dashboard.get("dashboard_5_ms")
    finally:
        from django.db import connections

        connections.close_all()
        _database_recreate(MAINTENANCE_URL, SMALL_DB, drop_only=True)
        if not args.keep:
            _database_recreate(MAINTENANCE_URL, SCALE_DB, drop_only=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
