from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model

from accounts.models import PartnerScope
from accounts.services import partner_client_create


class Command(BaseCommand):
    help = "Create a partner API client for some clinics and print its id and secret (once)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Who the partner is, e.g. 'Kiosk 1'.")
        parser.add_argument(
            "--clinics", required=True, help="Comma-separated clinic slugs, e.g. centro,manaus."
        )
        parser.add_argument(
            "--scope", choices=PartnerScope.values, default=PartnerScope.READ, help="Access."
        )
        parser.add_argument("--requests-per-minute", type=int, default=600)

    def handle(self, *args, **options):
        slugs = [slug.strip() for slug in options["clinics"].split(",") if slug.strip()]
        # The clinics a partner client may use are tenants (PartnerClient.clinics).
        clinics = list(get_tenant_model()._default_manager.filter(schema_name__in=slugs))
        missing = sorted(set(slugs) - {clinic.schema_name for clinic in clinics})
        if not slugs or missing:
            raise CommandError(f"Unknown clinic slug(s): {', '.join(missing) or '(none given)'}")
        if options["requests_per_minute"] < 1:
            raise CommandError("--requests-per-minute must be at least 1.")
        try:
            client, secret = partner_client_create(
                name=options["name"],
                clinics=clinics,
                scope=options["scope"],
                requests_per_minute=options["requests_per_minute"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(
            f"Partner client {client.name!r} ({client.scope}) for {', '.join(sorted(slugs))}\n"
            f"client_id:     {client.client_id}\n"
            f"client_secret: {secret}\n"
            "Store the secret now: it is kept hashed and cannot be shown again."
        )
