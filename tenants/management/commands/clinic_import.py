from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.transfer import ClinicTransferError, clinic_import


class Command(BaseCommand):
    help = (
        "Restore a clinic from an archive of clinic_export, into this database or another "
        "cluster's; refuses a clinic that exists unless --replace. Re-syncs its reset schedule."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Drop the clinic of the same slug (schema and public rows) and restore over it.",
        )

    def handle(self, *args, **options):
        if not options["file"].is_file():
            raise CommandError(f"{options['file']} is not a file.")
        try:
            imported = clinic_import(path=options["file"], replace=options["replace"])
        except ClinicTransferError as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"]:
            self.stdout.write(
                f'Clinic "{imported.clinic.schema_name}" imported: {imported.users_created} '
                f"users created, {imported.users_matched} matched by e-mail, "
                f"{imported.migrations_applied} migrations applied."
            )
