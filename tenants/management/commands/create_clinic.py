import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Chain
from tenants.selectors import clinic_hostname
from tenants.services import clinic_provision


class Command(BaseCommand):
    help = "Provision a clinic of a chain: its schema, domain, default service and reset schedule."

    def add_arguments(self, parser):
        parser.add_argument("--chain", required=True, help="Slug of the chain.")
        parser.add_argument("--slug", required=True, help="Becomes the schema and subdomain.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--timezone", default="America/Sao_Paulo", help="IANA timezone.")
        parser.add_argument("--reset-time", default="00:00", help="Local HH:MM of the reset.")

    def handle(self, *args, **options):
        try:
            chain = Chain.objects.get(slug=options["chain"])
        except Chain.DoesNotExist:
            raise CommandError(f'No chain with slug "{options["chain"]}".') from None
        try:
            reset_time = datetime.time.fromisoformat(options["reset_time"])
        except ValueError:
            raise CommandError("--reset-time must be HH:MM.") from None
        try:
            clinic = clinic_provision(
                chain=chain,
                name=options["name"],
                slug=options["slug"],
                timezone=options["timezone"],
                reset_time=reset_time,
            )
        except ValidationError as exc:
            messages = "; ".join(
                f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()
            )
            raise CommandError(messages) from None
        self.stdout.write(f"Clinic {clinic.name} ready at http://{clinic_hostname(clinic=clinic)}/")
