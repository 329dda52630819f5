from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import PartnerClient, PartnerScope, User
from accounts.services import (
    chain_membership_grant,
    clinic_membership_grant,
    partner_client_create,
    user_create,
)
from queueing.models import Panel
from queueing.selectors.queue import desk_list, service_list
from queueing.services.panels import panel_key_hash
from queueing.services.setup import desk_create, service_create
from tenants.live_figures import clinic_live_figures_refresh
from tenants.models import Chain, Clinic
from tenants.selectors import clinic_hostname
from tenants.services import chain_create, clinic_provision

DEMO_PASSWORD = "clinico-demo"
# A demo kiosk (read_write on both demo clinics); a fixed secret because this is a demo.
DEMO_PARTNER_ID = "demo-totem"
DEMO_PARTNER_SECRET = "clinico-demo-partner"
DEMO_CHAIN = ("demo", "Rede Saúde Demo")
DEMO_CLINICS = [
    # slug, name, timezone
    ("centro", "Clínica Demo Centro (São Paulo)", "America/Sao_Paulo"),
    ("manaus", "Clínica Demo Manaus", "America/Manaus"),
]
STAFF = [("recepcao", "receptionist"), ("medico", "clinician"), ("admin", "clinic_admin")]
# Recepção (R) comes with every clinic; the demo adds triage and consultation and their desks.
DEMO_SERVICES = [("Triagem", "T"), ("Consulta", "C")]
DEMO_DESKS = [
    ("Guichê 1", ["R"]),
    ("Guichê 2", ["R"]),
    ("Triagem 1", ["T"]),
    ("Consultório 1", ["C"]),
]


def _user(email: str, full_name: str, *, is_staff: bool = False) -> User:
    return User.objects.filter(email=email).first() or user_create(
        email=email, password=DEMO_PASSWORD, full_name=full_name, is_staff=is_staff
    )


def _queue_setup_ensure(clinic: Clinic) -> None:
    """The demo services and desks of `clinic`, created when missing."""
    with clinic:
        by_prefix = {service.prefix: service for service in service_list()}
        for name, prefix in DEMO_SERVICES:
            if prefix not in by_prefix:
                by_prefix[prefix] = service_create(name=name, prefix=prefix)
        desks = {desk.name for desk in desk_list()}
        for name, prefixes in DEMO_DESKS:
            if name not in desks:
                desk_create(name=name, service_ids=[by_prefix[p].pk for p in prefixes])


def _panel_link(clinic: Clinic, host: str) -> str:
    """The demo TV's link: the default panel's key is the clinic's first one until re-keyed."""
    with clinic:
        panel = Panel.objects.filter(is_default=True).first()
        current = panel is not None and panel.key_hash == panel_key_hash(clinic.panel_key)
    if not current:
        return f"(a new key was made: the link is on http://{host}:8000/manage/panels/)"
    return f"http://{host}:8000/panel/#key={clinic.panel_key}"


class Command(BaseCommand):
    help = (
        "Create the demo chain, its clinics in two timezones and one login per role (idempotent)."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            # Every demo login, a platform operator's included, has a password printed in the
            # README: on a real deployment they would be open doors.
            raise CommandError(
                "seed_demo creates logins with the published demo password, a platform operator "
                "among them, so it runs only in development (DEBUG on: clinico.settings.dev). "
                f"DEBUG is off in {settings.SETTINGS_MODULE}; nothing was created."
            )
        chain_slug, chain_name = DEMO_CHAIN
        chain = Chain.objects.filter(slug=chain_slug).first() or chain_create(
            name=chain_name, slug=chain_slug
        )
        lines = []
        for slug, name, tz in DEMO_CLINICS:
            clinic = Clinic.objects.filter(schema_name=slug).first() or clinic_provision(
                chain=chain, name=name, slug=slug, timezone=tz
            )
            _queue_setup_ensure(clinic)
            # The dashboard reads this public row; later changes keep it current.
            clinic_live_figures_refresh(clinic=clinic)
            host = clinic_hostname(clinic=clinic)
            lines.append(f"  {name}: http://{host}:8000/   ({tz})")
            lines.append(f"    TV panel      {_panel_link(clinic, host)}")
            lines.append(f"    totem         http://{host}:8000/totem/#key={clinic.totem_key}")
            for prefix, role in STAFF:
                user = _user(f"{prefix}@{slug}.demo", f"{prefix.title()} {name}")
                clinic_membership_grant(user=user, clinic=clinic, role=role)
                lines.append(f"    {role:<13} {user.email} / {DEMO_PASSWORD}")
        manager = _user("gestor@demo.demo", "Gestora da Rede Demo")
        chain_membership_grant(user=manager, chain=chain)
        _user("operador@clinico.demo", "Operador da Plataforma", is_staff=True)
        self.stdout.write("Demo clinics:\n" + "\n".join(lines))
        self.stdout.write(
            f"Public site: http://localhost:8000/  (dashboard /dashboard/, admin /admin/)\n"
            f"    chain_manager gestor@demo.demo / {DEMO_PASSWORD}\n"
            f"    operator      operador@clinico.demo / {DEMO_PASSWORD}"
        )
        if not PartnerClient.objects.filter(client_id=DEMO_PARTNER_ID).exists():
            partner_client_create(
                name="Totem Demo",
                clinics=Clinic.objects.filter(schema_name__in=[c[0] for c in DEMO_CLINICS]),
                scope=PartnerScope.READ_WRITE,
                client_id=DEMO_PARTNER_ID,
                secret=DEMO_PARTNER_SECRET,
            )
        self.stdout.write(
            f"    partner API   client_id {DEMO_PARTNER_ID} / secret {DEMO_PARTNER_SECRET}"
            "  (POST /api/v1/auth/partner-token/ on the public host)"
        )
