import datetime
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin


class Chain(models.Model):
    """A clinic chain: the customer that owns clinics and employs chain managers."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=63, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _new_panel_key() -> str:
    return secrets.token_urlsafe(24)


def _new_totem_key() -> str:
    return secrets.token_urlsafe(24)


class TotemNewPatients(models.TextChoices):
    """What the self-service totem does with a CPF the clinic does not know yet."""

    REGISTER = "register", _("Short registration at the totem (name, birth date)")
    RECEPTION = "reception", _("Send the patient to reception")


class TicketPaper(models.IntegerChoices):
    """The width of the thermal paper the clinic's tickets are printed on (millimetres)."""

    MM_80 = 80, _("80 mm")
    MM_58 = 58, _("58 mm")


class Clinic(TenantMixin):
    """One clinic: a PostgreSQL schema named after its slug, served on <slug>.<BASE_DOMAIN>."""

    chain = models.ForeignKey(Chain, on_delete=models.PROTECT, related_name="clinics")
    name = models.CharField(_("name"), max_length=120)
    timezone = models.CharField(_("timezone"), max_length=64, default="America/Sao_Paulo")
    reset_time = models.TimeField(_("daily reset time"), default=datetime.time(0, 0))
    is_active = models.BooleanField(_("active"), default=True)
    # Empty: the clinic's tasks go to a shard queue chosen by hash; set: to this queue only.
    dedicated_queue = models.CharField(_("dedicated queue"), max_length=100, blank=True)
    # The waiting-room TV reads the panel with this key instead of a staff login.
    panel_key = models.CharField(max_length=64, default=_new_panel_key, editable=False)
    # The self-service totem checks patients in with this key, never with a staff login.
    totem_key = models.CharField(max_length=64, default=_new_totem_key, editable=False)
    totem_new_patients = models.CharField(
        _("new CPF at the totem"),
        max_length=10,
        choices=TotemNewPatients.choices,
        default=TotemNewPatients.REGISTER,
    )
    ticket_paper_mm = models.PositiveSmallIntegerField(
        _("ticket paper width"), choices=TicketPaper.choices, default=TicketPaper.MM_80
    )
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True

    class Meta:
        ordering = ["name"]
        # A page of a chain's clinics by name walks this index: the same cost at any chain size.
        indexes = [models.Index(fields=["chain", "name", "id"], name="clinic_chain_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"

    @property
    def slug(self) -> str:
        return self.schema_name

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """Clone the template schema; refuse to fall back to running migrations."""
        from tenants.schema import clone_template_schema

        clone_template_schema(self.schema_name)


class Domain(DomainMixin):
    pass


class ClinicDaySummary(models.Model):
    """One clinic's closed service day, kept in the public schema for the chain dashboard.

    Written by the daily reset once the day is over; `by_service` holds the same figures per
    service. Durations are seconds; shares are 0..1 (None when no ticket was called).
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="day_summaries")
    service_day = models.DateField()
    tickets = models.PositiveIntegerField(default=0)
    served = models.PositiveIntegerField(default=0)
    no_shows = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    transferred = models.PositiveIntegerField(default=0)
    # Booked patients who never came (appointments the reset marked no-show).
    appointment_no_shows = models.PositiveIntegerField(default=0)
    wait_avg_s = models.FloatField(null=True, blank=True)
    wait_p90_s = models.FloatField(null=True, blank=True)
    service_avg_s = models.FloatField(null=True, blank=True)
    within_target_share = models.FloatField(null=True, blank=True)
    by_service = models.JSONField(default=list, blank=True)
    # Seconds the clinic's desks spent on breaks that day, in all and per desk.
    break_s = models.FloatField(default=0)
    by_desk = models.JSONField(default=list, blank=True)
    closed_at = models.DateTimeField()

    class Meta:
        ordering = ["service_day", "clinic_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "service_day"], name="one_summary_per_clinic_day"
            ),
            models.CheckConstraint(
                condition=models.Q(within_target_share__isnull=True)
                | models.Q(within_target_share__gte=0, within_target_share__lte=1),
                name="summary_share_is_a_fraction",
            ),
        ]
        indexes = [models.Index(fields=["service_day", "clinic"], name="summary_day_clinic")]

    def __str__(self) -> str:
        return f"{self.clinic_id} · {self.service_day}"


class ClinicLiveFigures(models.Model):
    """One clinic's figures today, kept in the public schema for the chain dashboard and API.

    Refreshed by a debounced task after the clinic's tickets or desks change (see
    tenants/live_figures.py), so reading a chain's figures never enters a clinic's schema.
    `service_day` is the clinic-local day the figures are of: a row of an earlier day reads as
    a day without tickets yet.
    """

    clinic = models.OneToOneField(
        Clinic, on_delete=models.CASCADE, primary_key=True, related_name="live_figures"
    )
    service_day = models.DateField()
    tickets = models.PositiveIntegerField(default=0)
    waiting = models.PositiveIntegerField(default=0)
    at_desks = models.PositiveIntegerField(default=0)  # called or in service now
    served = models.PositiveIntegerField(default=0)
    no_shows = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    called = models.PositiveIntegerField(default=0)
    wait_avg_s = models.FloatField(null=True, blank=True)
    wait_p90_s = models.FloatField(null=True, blank=True)
    service_avg_s = models.FloatField(null=True, blank=True)
    within_target_share = models.FloatField(null=True, blank=True)
    desks_open = models.PositiveIntegerField(default=0)
    desks_on_break = models.PositiveIntegerField(default=0)
    break_s = models.FloatField(default=0)
    # [{"hour": 9, "arrivals": 12, "calls": 10}, …] in the clinic's local hours.
    hours = models.JSONField(default=list, blank=True)
    # When the figures were read from the clinic's schema: an older read never overwrites them.
    refreshed_at = models.DateTimeField()
    # The clinic's newest event when they were read (events.selectors.event_last_id): the
    # catch-up refreshes the clinics whose public activity row shows a newer one.
    last_event_id = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["refreshed_at"], name="live_figures_refreshed_at")]

    def __str__(self) -> str:
        return f"{self.clinic_id} · {self.service_day}"
