from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Clinic
from tenants.transfer import ClinicTransferError, clinic_export


class Command(BaseCommand):
    help = (
        "Write one clinic to an archive: its schema (pg_dump) and its public rows (clinic, "
        "domains, staff and their users, partner clients, day summaries, schedules)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options):
        clinic = Clinic.objects.filter(schema_name=options["slug"]).select_related("chain").first()
        if clinic is None:
            raise CommandError(f'No clinic "{options["slug"]}" in this database.')
        try:
            manifest = clinic_export(clinic=clinic, path=options["file"])
        except ClinicTransferError as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"]:
            size = options["file"].stat().st_size
            self.stdout.write(
                f'Clinic "{manifest["slug"]}" exported to {options["file"]} ({size} bytes, '
                f"{len(manifest['migrations'])} migrations)."
            )
