from django.core.management import call_command
from django.core.management.base import BaseCommand

from integrations.services import webhooks_sweep_schedule_ensure
from tenants.schema import template_schema_ensure
from tenants.sweeper import checkins_sweep_schedule_ensure


class Command(BaseCommand):
    help = (
        "Migrate everything in order: the public schema (and its cache tables), the clinic "
        "template schema (created when missing) and every clinic schema."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--executor",
            default="standard",
            choices=["standard", "multiprocessing"],
            help="multiprocessing migrates clinic schemas in parallel (for many clinics).",
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        # Database cache tables (the rate limits' counters) live in the public schema.
        call_command("createcachetable", verbosity=verbosity)
        created = template_schema_ensure(verbosity=verbosity)
        if verbosity:
            state = "created" if created else "up to date"
            self.stdout.write(f"Clinic template schema {state}.")
        call_command(
            "migrate_schemas",
            tenant=True,
            interactive=False,
            verbosity=verbosity,
            executor=options["executor"],
        )
        # Platform-wide beat entries (created once, then managed in the admin).
        checkins_sweep_schedule_ensure()
        webhooks_sweep_schedule_ensure()
