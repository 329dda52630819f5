import os
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from integrations.services import webhooks_sweep_schedule_ensure
from tenants.live_figures import live_figures_catch_up_schedule_ensure
from tenants.models import Clinic
from tenants.schema import clone_function_ensure, template_schema_ensure, template_schema_name
from tenants.schema_migrations import (
    Progress,
    migration_graph_nodes,
    schemas_migrate,
    schemas_pending,
)
from tenants.sweeper import checkins_sweep_schedule_ensure

FAILURES_LISTED = 20


def _default_jobs() -> int:
    return int(os.environ.get("CLINICO_MIGRATE_JOBS", "0")) or os.cpu_count() or 1


class Command(BaseCommand):
    help = (
        "Migrate everything in order: the public schema, the clinic template schema (created "
        "when missing) and every clinic schema with a migration pending, in parallel. Clinics "
        "already up to date are found in a few batched queries and skipped; a clinic that fails "
        "is reported and the others are migrated; run it again to resume."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--jobs",
            type=int,
            default=_default_jobs(),
            help="Processes migrating clinic schemas at once (default: CLINICO_MIGRATE_JOBS "
            "or the number of CPUs).",
        )
        parser.add_argument(
            "--lock-timeout",
            type=int,
            default=0,
            metavar="MS",
            help="Give up on a clinic whose tables stay locked this long (it is reported and "
            "left for the next run) instead of queueing behind live traffic; 0 waits.",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Migrate nothing; report what is pending and exit 1 when anything is.",
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        started = time.monotonic()
        nodes = migration_graph_nodes()
        template = template_schema_name()
        public = schemas_pending(schemas=["public"], nodes=nodes)
        template_pending = schemas_pending(schemas=[template], nodes=nodes)
        if public and not options["check"]:
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        clinics = self._clinic_schemas(exclude=["public", template])
        pending = schemas_pending(schemas=clinics, nodes=nodes, jobs=max(1, options["jobs"]))
        if verbosity:
            self.stdout.write(
                f"Pending: public {'yes' if public else 'no'}, template "
                f"{'yes' if template_pending else 'no'}, {len(pending)} of {len(clinics)} "
                f"clinics (checked in {time.monotonic() - started:.1f} s)."
            )
        if options["check"]:
            if public or template_pending or pending:
                raise CommandError("Migrations are pending.", returncode=1)
            return

        self._cache_tables_ensure(verbosity)
        if template_pending:
            # Before any clinic: new clinics are cloned from it, DDL cache included.
            template_schema_ensure(verbosity=verbosity)
            if verbosity:
                self.stdout.write(f'Clinic template schema "{template}" migrated.')
        else:
            clone_function_ensure()

        progress = Progress(
            total=len(pending),
            write=lambda line: self.stdout.write(line) if verbosity else None,
        )
        failed_lines: list[str] = []

        def on_result(result):
            if result.error:
                failed_lines.append(f"{result.schema}: {result.error}")
                self.stderr.write(f"clinic {result.schema} FAILED: {result.error}")
            progress(result)

        results = schemas_migrate(
            schemas=pending,
            jobs=max(1, options["jobs"]),
            lock_timeout_ms=options["lock_timeout"],
            on_result=on_result,
        )
        # Platform-wide beat entries (created once, then managed in the admin).
        checkins_sweep_schedule_ensure()
        live_figures_catch_up_schedule_ensure()
        webhooks_sweep_schedule_ensure()
        if failed_lines:
            listed = "\n  ".join(failed_lines[:FAILURES_LISTED])
            more = len(failed_lines) - FAILURES_LISTED
            raise CommandError(
                f"{len(failed_lines)} of {len(pending)} clinics failed to migrate (the others "
                f"are migrated and recorded; fix the cause and run migrate_clinics again):\n  "
                f"{listed}" + (f"\n  … and {more} more" if more > 0 else "")
            )
        if verbosity:
            migrated = sum(1 for r in results if r.applied)
            self.stdout.write(
                f"Done in {time.monotonic() - started:.1f} s: {migrated} clinics migrated."
            )

    def _clinic_schemas(self, *, exclude: list[str]) -> list[str]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('public.tenants_clinic') IS NULL")
            if cursor.fetchone()[0]:  # a database whose public schema is not migrated yet
                return []
        return list(
            Clinic.objects.exclude(schema_name__in=exclude)
            .order_by("schema_name")
            .values_list("schema_name", flat=True)
        )

    def _cache_tables_ensure(self, verbosity: int) -> None:
        """createcachetable only for a database cache whose table is missing (it would
        otherwise list every table of every schema to find out)."""
        from django.core.cache.backends.db import DatabaseCache
        from django.db import connection

        for conf in settings.CACHES.values():
            if not conf["BACKEND"].endswith(DatabaseCache.__name__):
                continue
            with connection.cursor() as cursor:
                cursor.execute("SELECT to_regclass(%s) IS NULL", [f"public.{conf['LOCATION']}"])
                missing = cursor.fetchone()[0]
            if missing:
                call_command("createcachetable", conf["LOCATION"], verbosity=verbosity)
