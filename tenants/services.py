"""Writes of chains and clinics: provisioning, settings, deactivation."""

import datetime
import functools
import logging
import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone as django_timezone
from django.utils.translation import gettext as _

from accounts.models import ClinicRole, User
from accounts.services import staff_invite
from appointments.services import appointments_close_days
from common.tenancy import tenant_connection
from queueing.clock import service_day_today
from queueing.selectors.queue import panel_list
from queueing.services.day_close import SUMMARY_KEYS, days_close
from queueing.services.panels import panel_create_default, panel_key_rotate
from queueing.services.setup import service_create_default
from tenants.models import Chain, Clinic, ClinicDaySummary, Domain
from tenants.schedules import clinic_reset_schedule_sync
from tenants.schema import template_schema_name
from tenants.selectors import (
    clinic_host_cache_forget,
    clinic_hostname,
    clinic_last_closed_day,
)

logger = logging.getLogger(__name__)

DAY_SUMMARY_FIELDS = (*SUMMARY_KEYS, "by_service", "break_s", "by_desk")

# Matched whole (fullmatch): "$" would also let a trailing newline through.
SLUG_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
RESERVED_SLUGS = {"public", "www", "api", "admin", "static", "information_schema"}


def _host_cache_forget_on_commit(clinic: Clinic) -> None:
    """After commit, this process reads the clinic's hosts from the database again."""
    hostnames = {clinic_hostname(clinic=clinic)}
    hostnames.update(Domain.objects.filter(tenant=clinic).values_list("domain", flat=True))
    for hostname in hostnames:
        transaction.on_commit(functools.partial(clinic_host_cache_forget, hostname=hostname))


def _validate_slug(slug: str) -> None:
    if not slug:
        raise ValidationError({"slug": _("Slug is required.")})
    if len(slug) > 63:
        raise ValidationError({"slug": _("Slug must be at most 63 characters.")})
    if not SLUG_RE.fullmatch(slug):
        raise ValidationError(
            {
                "slug": _(
                    "Slug must start with a lower-case letter and contain only lower-case "
                    "letters, digits and underscores."
                )
            }
        )
    if slug in RESERVED_SLUGS or slug.startswith("pg_") or slug == template_schema_name():
        raise ValidationError(
            {"slug": _('"%(slug)s" is a reserved name; choose another slug.') % {"slug": slug}}
        )


def _validate_timezone(tz: str) -> None:
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            {
                "timezone": _('"%(timezone)s" is not an IANA timezone (e.g. America/Sao_Paulo).')
                % {"timezone": tz}
            }
        ) from None
    if tz not in zoneinfo.available_timezones():
        raise ValidationError(
            {"timezone": _('"%(timezone)s" is not an IANA timezone name.') % {"timezone": tz}}
        )


def chain_create(*, name: str, slug: str) -> Chain:
    chain = Chain(name=name, slug=slug)
    chain.full_clean()
    chain.save()
    return chain


@transaction.atomic
def clinic_provision(
    *,
    chain: Chain,
    name: str,
    slug: str,
    timezone: str,
    reset_time: datetime.time = datetime.time(0, 0),
) -> Clinic:
    """Create a clinic: schema cloned from the template, domain, default service, reset schedule.

    One transaction: PostgreSQL DDL is transactional, so any failure leaves nothing behind.
    """
    slug = (slug or "").strip()
    name = (name or "").strip()
    _validate_slug(slug)
    if not name:
        raise ValidationError({"name": _("Name is required.")})
    _validate_timezone(timezone)
    if Clinic.objects.filter(schema_name__iexact=slug).exists():
        raise ValidationError(
            {"slug": _('A clinic with slug "%(slug)s" already exists.') % {"slug": slug}}
        )

    clinic = Clinic(
        chain=chain, name=name, schema_name=slug, timezone=timezone, reset_time=reset_time
    )
    clinic.full_clean()
    clinic.save(verbosity=0)
    domain = Domain(domain=clinic_hostname(clinic=clinic), tenant=clinic, is_primary=True)
    domain.full_clean()
    domain.save()

    tenant_connection.set_tenant(clinic)
    try:
        service_create_default()
        # The TV link of a new clinic opens its default panel with the key made with the clinic.
        panel_create_default(key=clinic.panel_key)
    finally:
        tenant_connection.set_schema_to_public()

    clinic_reset_schedule_sync(clinic=clinic)
    _host_cache_forget_on_commit(clinic)
    return clinic


@transaction.atomic
def clinic_open(
    *,
    chain: Chain,
    name: str,
    slug: str,
    timezone: str,
    reset_time: datetime.time = datetime.time(0, 0),
    admin_email: str = "",
    admin_name: str = "",
    origin: str | None = None,
) -> Clinic:
    """Provision a clinic and invite its first clinic admin, who gets an e-mail with a link
    to choose a password (or to sign in, if they have one)."""
    clinic = clinic_provision(
        chain=chain, name=name, slug=slug, timezone=timezone, reset_time=reset_time
    )
    if admin_email:
        staff_invite(
            clinic=clinic,
            email=admin_email,
            role=ClinicRole.CLINIC_ADMIN,
            full_name=admin_name,
            origin=origin,
        )
    return clinic


@transaction.atomic
def clinic_update_settings(
    *,
    clinic: Clinic,
    name: str | None = None,
    timezone: str | None = None,
    reset_time: datetime.time | None = None,
    is_active: bool | None = None,
    dedicated_queue: str | None = None,
) -> Clinic:
    """Change a clinic's settings and keep its reset schedule in step."""
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": _("Name is required.")})
        clinic.name = name.strip()
    if timezone is not None:
        _validate_timezone(timezone)
        clinic.timezone = timezone
    if reset_time is not None:
        clinic.reset_time = reset_time
    if is_active is not None:
        clinic.is_active = is_active
    if dedicated_queue is not None:
        if dedicated_queue and not re.fullmatch(r"[a-z0-9_-]{1,60}", dedicated_queue):
            raise ValidationError(
                {"dedicated_queue": _("Use lower-case letters, digits, '-' or '_' (at most 60).")}
            )
        clinic.dedicated_queue = dedicated_queue
    clinic.full_clean()
    clinic.save()
    clinic_reset_schedule_sync(clinic=clinic)
    _host_cache_forget_on_commit(clinic)
    return clinic


@transaction.atomic
def clinic_days_close(*, clinic: Clinic) -> list[ClinicDaySummary]:
    """The daily reset: close the clinic's finished days and store each one's summary.

    One transaction over the clinic's schema (expired tickets, their events) and the public
    summaries, so a failure leaves the days open for the next run; idempotent.
    """
    last = clinic_last_closed_day(clinic=clinic)
    with clinic:
        closed = days_close(closed_through=last)
        # Booked patients who never came are the day's appointment no-shows; appointments sit
        # above queueing, so the reset (which knows both) closes them here.
        no_shows = appointments_close_days(before=service_day_today())
    now = django_timezone.now()
    summaries = []
    for figures in closed:
        values = {name: getattr(figures, name) for name in DAY_SUMMARY_FIELDS}
        values["appointment_no_shows"] = no_shows.pop(figures.service_day, 0)
        summary, _ = ClinicDaySummary.objects.update_or_create(
            clinic=clinic,
            service_day=figures.service_day,
            defaults={**values, "closed_at": now},
        )
        summaries.append(summary)
    for service_day, count in sorted(no_shows.items()):
        # A day of bookings and no ticket at all still gets its summary, or adds to it.
        summary, created = ClinicDaySummary.objects.get_or_create(
            clinic=clinic,
            service_day=service_day,
            defaults={"appointment_no_shows": count, "closed_at": now},
        )
        if not created:
            summary.appointment_no_shows += count
            summary.save(update_fields=["appointment_no_shows"])
        summaries.append(summary)
    return summaries


@transaction.atomic
def clinic_panel_key_rotate(*, clinic: Clinic, actor: User | None = None) -> str:
    """A new key for the clinic's default panel, returned once: its old TV link is refused.

    The clinic's row forgets the key the default panel was made with (it no longer opens it).
    """
    with clinic:
        panel = panel_list().filter(is_default=True).first()
        if panel is None:
            panel, key = panel_create_default()
        else:
            panel, key = panel_key_rotate(panel=panel)
    Clinic.objects.filter(pk=clinic.pk).update(panel_key="")
    logger.info(
        "Default panel key of clinic %s rotated by user %s.",
        clinic.schema_name,
        getattr(actor, "pk", None),
    )
    _host_cache_forget_on_commit(clinic)
    return key


@transaction.atomic
def clinic_totem_key_rotate(*, clinic: Clinic, actor: User | None = None) -> Clinic:
    """Give the clinic a new totem key: a totem holding the old key or its cookie is refused."""
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    clinic.totem_key = Clinic._meta.get_field("totem_key").get_default()
    clinic.save(update_fields=["totem_key"])
    logger.info(
        "Totem key of clinic %s rotated by user %s.",
        clinic.schema_name,
        getattr(actor, "pk", None),
    )
    _host_cache_forget_on_commit(clinic)
    return clinic


@transaction.atomic
def clinic_totem_settings_update(
    *,
    clinic: Clinic,
    new_patients: str | None = None,
    ticket_paper_mm: int | None = None,
    actor: User | None = None,
) -> Clinic:
    """Change what the totem does with a new CPF and the width of the printed tickets."""
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    changed = []
    if new_patients is not None:
        clinic.totem_new_patients = new_patients
        changed.append("totem_new_patients")
    if ticket_paper_mm is not None:
        clinic.ticket_paper_mm = ticket_paper_mm
        changed.append("ticket_paper_mm")
    if changed:
        clinic.full_clean(exclude=["chain", "schema_name"], validate_unique=False)
        clinic.save(update_fields=changed)
        logger.info(
            "Totem settings of clinic %s changed by user %s: %s.",
            clinic.schema_name,
            getattr(actor, "pk", None),
            ", ".join(changed),
        )
        _host_cache_forget_on_commit(clinic)
    return clinic
