from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.transfer import ClinicTransferError, clinic_import


class Command(BaseCommand):
    help = (
        "Restore a clinic from an archive of clinic_export, into this database or another "
        "cluster's; refuses a clinic that exists unless --replace, and an archive that is not "
        "signed with this installation's CLINICO_ARCHIVE_SIGNING_KEY or was altered. Re-syncs "
        "its reset schedule."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Drop the clinic of the same slug (schema and public rows) and restore over it.",
        )
        parser.add_argument(
            "--chain",
            help="Put the clinic in this existing chain (its managers see the clinic's figures). "
            "Without it, the archive's chain is created here; an existing one is never joined.",
        )

    def handle(self, *args, **options):
        if not options["file"].is_file():
            raise CommandError(f"{options['file']} is not a file.")
        try:
            imported = clinic_import(
                path=options["file"], replace=options["replace"], chain_slug=options["chain"]
            )
        except ClinicTransferError as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"]:
            self.stdout.write(
                f'Clinic "{imported.clinic.schema_name}" imported: {imported.users_created} '
                f"users created, {imported.users_matched} matched by e-mail, "
                f"{imported.migrations_applied} migrations applied."
            )
        for client_id, secret in imported.partner_secrets.items():
            # An archive never carries a usable secret: partners new here get one, shown once.
            self.stdout.write(
                f"Partner client {client_id} is new here; its new secret (store it now, it "
                f"cannot be shown again): {secret}"
            )
